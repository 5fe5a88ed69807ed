//! Torture during sync on PostgreSQL: three replicas on one schema, one of them killed with
//! SIGKILL again and again while Pins are made, must still make each Pin exactly once (needs
//! `PINBRIDGE_TEST_POSTGRES_URL`; skipped without it, failed under CI).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use super::torture_sync::*;
use crate::support::replicas::seed;
use crate::support::replicas::{free_addr, postgres_schema};

/// Job counts by state, straight from the shared schema.
pub(crate) async fn pg_states(pool: &sqlx::PgPool) -> BTreeMap<String, i64> {
    sqlx::query("SELECT state_name, count(*) AS n FROM jobs GROUP BY state_name")
        .fetch_all(pool)
        .await
        .map(|rows| {
            rows.iter()
                .map(|r| (r.get::<String, _>("state_name"), r.get::<i64, _>("n")))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_killed_during_sync_make_each_pin_exactly_once() {
    let Some((pool, url, schema)) = postgres_schema().await else {
        return;
    };
    let size = size();
    let seed = seed();
    println!(
        "postgres sync torture seed: {seed} (replay with PINBRIDGE_TORTURE_SEED={seed}), schema {schema}"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let shutdown = CancellationToken::new();
    let _guard = shutdown.clone().drop_guard();
    let sandbox = sandbox(seed);
    let user = sandbox.create_user("tortured");
    let (api, feed) = serve(&sandbox, size.items, &shutdown).await;
    let mut dir = tempfile::tempdir().unwrap();
    keep(&mut dir);
    let store = format!("url = \"{url}\"");
    let mut replicas = Vec::new();
    for r in 0..3 {
        let listen = free_addr();
        let path = dir.path().join(format!("replica-{r}.toml"));
        std::fs::write(
            &path,
            config(
                &api,
                &feed,
                &listen,
                &store,
                &user.access_token,
                &user.refresh_token,
            ),
        )
        .unwrap();
        let child = start(&path, dir.path(), &format!("replica-{r}-0"), &listen).await;
        replicas.push((path, listen, child));
    }
    let want = expected(size.items);

    // One replica at a time is killed mid-sync and restarted, while the others keep going.
    let started = Instant::now();
    let mut kills = 0;
    while started.elapsed() < size.kill_phase
        && kills < size.max_kills
        && !all_present(&sandbox, &want)
    {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
        let r = rng.random_range(0..replicas.len());
        let (path, listen, child) = &mut replicas[r];
        kill(child).await;
        kills += 1;
        *child = start(path, dir.path(), &format!("replica-{r}-{kills}"), listen).await;
        println!(
            "kill {kills}: replica {r}; jobs {:?}; pins so far {}",
            pg_states(&pool).await,
            sandbox.pins().len()
        );
    }

    let deadline = Instant::now() + size.settle;
    loop {
        let states = pg_states(&pool).await;
        let done = states.get("done").copied().unwrap_or(0);
        if (done as usize == want.len() && states.values().sum::<i64>() == done)
            || Instant::now() >= deadline
        {
            // A little longer, so a second Pin from a pending reconcile would show.
            tokio::time::sleep(Duration::from_secs(3)).await;
            assert_eq!(
                done as usize,
                want.len(),
                "seed {seed}: every job is done: {states:?}"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (_, _, child) in &mut replicas {
        kill(child).await;
    }
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&pool)
        .await;
    verdict("postgres", seed, kills, &sandbox, &want);
}
