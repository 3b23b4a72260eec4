//! The seed's constraints live in the schema itself: rows written straight in
//! SQL, bypassing gamegate, are refused by the database on every backend.

use crate::support::{Backend, spawn_app};

crate::on_every_backend!(the_database_itself_refuses_rows_that_break_the_invariants);

// synced: a pending row this old would be settled by the running reconciler.
fn player_row(login: &str, login_norm: &str, gender: i32) -> String {
    format!(
        "INSERT INTO players (login, login_norm, password_hash, gender, state, created_at, updated_at) \
         VALUES ('{login}', '{login_norm}', 'x', {gender}, 'synced', 0, 0)"
    )
}

fn link_row(login_norm: &str, telegram_id: i64, slot: i64) -> String {
    format!(
        "INSERT INTO telegram_players (login_norm, telegram_id, slot, created_at) \
         VALUES ('{login_norm}', {telegram_id}, {slot}, 0)"
    )
}

async fn the_database_itself_refuses_rows_that_break_the_invariants(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let pool = app.db.pool();
    let exec =
        |sql: String| async move { sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await };

    // A valid row is accepted, so the refusals below are about the constraint.
    exec(player_row("Valid", "valid", 0))
        .await
        .expect("a valid row");
    exec(link_row("valid", 42, 0)).await.expect("a valid link");
    // A player without a link yet, so the link refusals below are about the
    // slot rules and not the foreign key.
    exec(player_row("Other", "other", 0))
        .await
        .expect("a second valid row");

    let refused = [
        ("login shorter than 3", player_row("ab", "ab", 0)),
        (
            "login longer than 16",
            player_row("abcdefghijklmnopq", "abcdefghijklmnopq", 0),
        ),
        (
            "the same login again (normalised)",
            player_row("VALID", "valid", 0),
        ),
        ("gender outside 0/1", player_row("Third", "third", 2)),
        ("a second link in the same slot", link_row("other", 42, 0)),
        ("a negative slot", link_row("other", 42, -1)),
        (
            "a link to a player that does not exist",
            link_row("ghost", 43, 0),
        ),
    ];
    for (what, sql) in refused {
        let err = exec(sql).await.expect_err(what);
        assert!(
            matches!(err, sqlx::Error::Database(_)),
            "{what}: expected the database to refuse it, got {err}"
        );
    }
    // A duplicate slot is a unique violation, the error the store retries on.
    let dup = exec(link_row("other", 42, 0)).await.unwrap_err();
    assert!(
        dup.as_database_error().unwrap().is_unique_violation(),
        "{dup}"
    );
    app.stop().await;
}
