//! Route checks that need more than the route's own keys: its templates must compile, and
//! `min_spacing` must be sane and agree per board. They live on the config side so that
//! validating a config never reaches into the sync engine; the engine uses what they accept.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::{ConfigProblem, RouteConfig};
use crate::template::Templates;

impl RouteConfig {
    /// Compile this route's templates; on failure, the key and a readable message.
    pub fn templates(&self) -> Result<Templates, (&'static str, String)> {
        Templates::from_sources(
            self.title.as_deref(),
            self.description.as_deref(),
            self.link.as_deref(),
            self.alt_text.as_deref(),
        )
    }
}

/// The longest spacing accepted: a longer one is almost surely a typo ("10d" for "10m").
const MAX_SPACING: Duration = Duration::from_secs(7 * 24 * 3600);

/// Check the routes' `min_spacing`: not zero, not absurdly long, and one value per board
/// (routes to the same board share its last Pin time, so differing values would contradict).
pub(super) fn validate_routes(
    routes: &[RouteConfig],
    default_account: Option<&str>,
    problems: &mut Vec<ConfigProblem>,
) {
    let mut per_board: HashMap<(String, String), (usize, Duration)> = HashMap::new();
    let mut reported = HashSet::new();
    for (i, route) in routes.iter().enumerate() {
        let Some(spacing) = route.min_spacing else {
            continue;
        };
        let path = format!("routes[{i}].min_spacing");
        if spacing.is_zero() {
            problems.push(ConfigProblem::new(
                path,
                "must be more than zero (leave it out for no spacing)",
            ));
            continue;
        }
        if spacing > MAX_SPACING {
            problems.push(ConfigProblem::new(
                path,
                format!(
                    "{} is longer than the 7 days allowed",
                    humantime::format_duration(spacing)
                ),
            ));
            continue;
        }
        let account = route
            .account
            .clone()
            .or_else(|| default_account.map(str::to_string))
            .unwrap_or_default();
        let board = match (&route.board_id, &route.board) {
            (Some(id), _) => format!("id:{id}"),
            (None, Some(name)) => name.clone(),
            (None, None) => continue,
        };
        match per_board.get(&(account.clone(), board.clone())) {
            Some(&(first, other)) if other != spacing && reported.insert(i) => {
                problems.push(ConfigProblem::new(
                    path,
                    format!(
                        "board `{board}` already has min_spacing {} from routes[{first}]; one board has one spacing",
                        humantime::format_duration(other)
                    ),
                ))
            }
            Some(_) => {}
            None => {
                per_board.insert((account, board), (i, spacing));
            }
        }
    }
}
