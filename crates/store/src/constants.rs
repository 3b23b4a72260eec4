//! The `constants` table (name → number) that `GET /api/server/status` shows.

use sea_query::{Iden, OnConflict, Order, Query};
use sqlx::Row;

use crate::db::Database;
use crate::error::StoreError;

#[derive(Iden)]
enum Constants_ {
    #[iden = "constants"]
    Table,
    Name,
    Value,
}

/// The `constants` table (name → number) of one database, from
/// [`Database::constants`]. Errs like every store operation:
/// [`StoreError::TimedOut`], [`StoreError::Unavailable`], [`StoreError::Query`].
pub struct Constants<'a> {
    db: &'a Database,
}

impl Database {
    /// The status constants ([`Constants`]).
    pub fn constants(&self) -> Constants<'_> {
        Constants::new(self)
    }
}

impl<'a> Constants<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// Every constant, ordered by name.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn all(&self) -> Result<Vec<(String, f64)>, StoreError> {
        self.db
            .bounded(async {
                let query = Query::select()
                    .columns([Constants_::Name, Constants_::Value])
                    .from(Constants_::Table)
                    .order_by(Constants_::Name, Order::Asc)
                    .take();
                self.db
                    .fetch_all(&query, |r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .await
            })
            .await
    }

    /// Inserts or replaces one constant.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn set(&self, name: &str, value: f64) -> Result<(), StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::insert()
                        .into_table(Constants_::Table)
                        .columns([Constants_::Name, Constants_::Value])
                        .values_panic([name.into(), value.into()])
                        .on_conflict(
                            OnConflict::column(Constants_::Name)
                                .update_column(Constants_::Value)
                                .to_owned(),
                        ),
                );
                sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok(())
            })
            .await
    }
}
