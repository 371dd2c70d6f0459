//! The demo content: into an empty database once, never over the owner's content, and never
//! back after the owner deleted it.

use folio_server::seed::{Seeded, demo_content};
use sqlx::PgPool;

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(pool)
        .await
        .expect("count")
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn an_empty_database_gets_the_demo_once(pool: PgPool) {
    assert_eq!(demo_content(&pool).await.expect("seed"), Seeded::Loaded);
    assert_eq!(count(&pool, "projects").await, 12);
    assert_eq!(count(&pool, "posts").await, 4);
    assert_eq!(count(&pool, "profile").await, 1);
    assert!(count(&pool, "skills").await > 0);
    assert!(count(&pool, "experience").await > 0);
    let featured: i64 = sqlx::query_scalar(
        "select count(*) from projects where featured and published_at <= now()",
    )
    .fetch_one(&pool)
    .await
    .expect("featured");
    assert!(featured >= 3, "the home page has featured work to show");

    assert_eq!(
        demo_content(&pool).await.expect("second start"),
        Seeded::Skipped
    );
    assert_eq!(count(&pool, "projects").await, 12, "nothing doubled");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_owners_content_is_never_touched(pool: PgPool) {
    sqlx::query("insert into projects (slug, title) values ('mine', 'My own project')")
        .execute(&pool)
        .await
        .expect("owner's project");
    assert_eq!(demo_content(&pool).await.expect("seed"), Seeded::Skipped);
    assert_eq!(count(&pool, "projects").await, 1);
    assert_eq!(count(&pool, "posts").await, 0);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn deleted_demo_content_does_not_come_back(pool: PgPool) {
    demo_content(&pool).await.expect("seed");
    for table in ["projects", "posts", "profile", "skills", "experience"] {
        sqlx::query(&format!("delete from {table}"))
            .execute(&pool)
            .await
            .expect("delete");
    }
    assert_eq!(demo_content(&pool).await.expect("restart"), Seeded::Skipped);
    assert_eq!(count(&pool, "projects").await, 0);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn two_instances_starting_together_load_it_once(pool: PgPool) {
    let (a, b) = tokio::join!(demo_content(&pool), demo_content(&pool));
    let outcomes = [a.expect("first"), b.expect("second")];
    assert!(
        outcomes.contains(&Seeded::Loaded) && outcomes.contains(&Seeded::Skipped),
        "{outcomes:?}"
    );
    assert_eq!(count(&pool, "projects").await, 12);
}
