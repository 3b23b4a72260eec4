//! The one backend-specific step of ingestion and rebuild: writing many rows
//! at once. Everything around it (which rows, in which transaction, with
//! which conflict handling) is the same on every backend.
//!
//! - SQLite and MySQL/MariaDB: multi-row `INSERT … VALUES (…), (…)`, as many
//!   rows per statement as [`rows_per_statement`] says.
//! - PostgreSQL: `INSERT … SELECT UNNEST(CAST($1 AS bigint[])), UNNEST(…), …`
//!   with one array literal per column, so a batch of any size is one
//!   statement of as many parameters as columns. The multi-row form spent most
//!   of its time binding and planning statements of thousands of parameters
//!   (`COPY` would need the native `PgConnection`, which sqlx's `Any` driver
//!   does not expose, and has no conflict handling of its own).

use sea_query::{DynIden, ExprTrait, Func, IntoColumnRef, Value};

use super::*;

/// What an INSERT does with a row whose key is already stored.
#[derive(Clone, Copy)]
pub(super) enum OnExisting {
    /// A `battles` row: skipped and not counted
    /// ([`BattleLog::build_insert_ignore`]).
    Skip,
    /// A `player_ratings` row: its value columns take the new values.
    UpdatePlayer,
    /// No such row can exist (the participants of new battles, a rebuilt
    /// table, players new to ingestion): a clash is an error.
    Fail,
}

/// Rows per PostgreSQL `UNNEST` statement: bounds one statement's
/// parameters (a few hundred kilobytes of text per column), not its count.
const PG_ROWS: usize = 20_000;

/// Rows per multi-row `INSERT … VALUES` on SQLite and MySQL/MariaDB: 500
/// on both. SQLite's bound-parameter limit is 32,766 (14 columns × 500 =
/// 7,000). MariaDB was measured with 250, 500, 1,000, 2,000 and 4,000 rows
/// per statement (20,000 battles, docs/ANALYTICS.md#ingestion): no size was
/// faster beyond the run-to-run noise of the shared machine, so 500 stays.
pub(super) fn rows_per_statement(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 500,
        Backend::Mysql => 500,
        Backend::Postgres => PG_ROWS,
    }
}

/// The PostgreSQL array type of a column whose values look like `value`;
/// `None` for a kind ingestion never writes (the VALUES form is used then).
fn pg_array_type(value: &Value) -> Option<&'static str> {
    match value {
        Value::BigInt(_) => Some("bigint[]"),
        Value::Double(_) => Some("float8[]"),
        Value::String(_) => Some("text[]"),
        _ => None,
    }
}

/// Values as a PostgreSQL array literal: `{1,2,3}`,
/// `{"a","b\"c"}` (every text element quoted, `"` and `\` escaped), `NULL`
/// for a missing value. Floats in Rust's shortest round-trip form, which
/// PostgreSQL's `float8` input reads back exactly.
pub(super) fn pg_array_literal<'v>(values: impl ExactSizeIterator<Item = &'v Value>) -> String {
    let mut out = String::with_capacity(values.len() * 8 + 2);
    out.push('{');
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        match value {
            Value::BigInt(Some(v)) => out.push_str(&v.to_string()),
            Value::Double(Some(v)) => out.push_str(&v.to_string()),
            Value::String(Some(s)) => {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            _ => out.push_str("NULL"),
        }
    }
    out.push('}');
    out
}

/// A row whose length is not the columns' (a bug of the caller): an
/// encoding error of the statement.
fn mismatch(e: sea_query::error::Error) -> StoreError {
    StoreError::Query(sqlx::Error::Encode(Box::new(e)))
}

impl BattleLog<'_> {
    /// How many keys one [`BattleLog::is_in`] condition takes: 1,000 values
    /// in an `IN` list, 20,000 in one PostgreSQL array.
    pub(super) fn in_list(&self) -> usize {
        match self.db.backend() {
            Backend::Postgres => PG_ROWS,
            Backend::Sqlite | Backend::Mysql => IN_LIST,
        }
    }

    /// `column IN (values…)`; on PostgreSQL `column IN (SELECT
    /// UNNEST(CAST($1 AS bigint[])))` (or `text[]`): one parameter instead of
    /// one per value. Used by ingestion's lookups (ids of the batch, its
    /// players' rows), where it doubled the import rate; not by the page
    /// reads of `battle_participants`, where the planner made it a sequential
    /// scan per page (docs/ANALYTICS.md#ingestion).
    pub(super) fn is_in<V: Into<Value>>(
        &self,
        column: impl IntoColumnRef,
        values: impl IntoIterator<Item = V>,
    ) -> SimpleExpr {
        let values: Vec<Value> = values.into_iter().map(Into::into).collect();
        let array_type = values.first().and_then(pg_array_type);
        match (self.db.backend(), array_type) {
            (Backend::Postgres, Some(ty)) => Expr::col(column).in_subquery(
                Query::select()
                    .expr(
                        Func::cust("UNNEST").arg(
                            Expr::val(pg_array_literal(values.iter()))
                                .cast_as(sea_query::Alias::new(ty)),
                        ),
                    )
                    .take(),
            ),
            _ => Expr::col(column).is_in(values),
        }
    }

    /// Writes `rows` (one value per column, in `columns` order) into `table`
    /// on `conn` (the caller's transaction), in as few statements as the
    /// backend allows, and answers how many rows were written (skipped
    /// existing ones not counted). Errs with [`StoreError::Query`] or
    /// [`StoreError::Unavailable`] as the statements do.
    pub(super) async fn insert_rows(
        &self,
        conn: &mut sqlx::AnyConnection,
        table: DynIden,
        columns: &[DynIden],
        rows: &[Vec<Value>],
        on_existing: OnExisting,
    ) -> Result<u64, StoreError> {
        let Some(first) = rows.first() else {
            return Ok(0);
        };
        let array_types: Option<Vec<&str>> = first.iter().map(pg_array_type).collect();
        let unnest = match self.db.backend() {
            Backend::Postgres => array_types,
            Backend::Sqlite | Backend::Mysql => None,
        };
        let per_statement = match unnest {
            Some(_) => PG_ROWS,
            None => rows_per_statement(self.db.backend()),
        };
        let mut written = 0;
        for chunk in rows.chunks(per_statement) {
            let mut insert = Query::insert();
            insert
                .into_table(table.clone())
                .columns(columns.iter().cloned());
            match &unnest {
                Some(types) => {
                    let select = Query::select()
                        .exprs(types.iter().enumerate().map(|(i, ty)| {
                            Func::cust("UNNEST").arg(
                                Expr::val(pg_array_literal(chunk.iter().map(|row| &row[i])))
                                    .cast_as(sea_query::Alias::new(*ty)),
                            )
                        }))
                        .take();
                    insert.select_from(select).map_err(mismatch)?;
                }
                None => {
                    for row in chunk {
                        insert
                            .values(row.iter().cloned().map(Expr::val))
                            .map_err(mismatch)?;
                    }
                }
            }
            let (sql, values) = match on_existing {
                OnExisting::Skip => self.build_insert_ignore(insert),
                OnExisting::UpdatePlayer => self.db.build(
                    insert.on_conflict(
                        OnConflict::column(PlayerRatings::Login)
                            .update_columns(PLAYER_VALUE_COLUMNS)
                            .to_owned(),
                    ),
                ),
                OnExisting::Fail => self.db.build(&insert),
            };
            written += sqlx::query_with(sql, values)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_quote_and_escape_text() {
        let rows = [
            vec![Value::from(1i64), Value::from("plain"), Value::from(0.1f64)],
            vec![
                Value::from(-2i64),
                Value::from("a\"b\\c,{d} e"),
                Value::from(25.0f64 / 3.0),
            ],
            vec![
                Value::BigInt(None),
                Value::from("\u{416}\u{443}\u{43a}"),
                Value::from(-1e-300f64),
            ],
        ];
        let column = |i: usize| pg_array_literal(rows.iter().map(|row| &row[i]));
        assert_eq!(column(0), "{1,-2,NULL}");
        assert_eq!(column(1), r#"{"plain","a\"b\\c,{d} e","Жук"}"#);
        let floats = column(2);
        let parsed: Vec<f64> = floats
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(parsed, [0.1, 25.0 / 3.0, -1e-300]);
    }
}
