//! Routes: which boards an item goes to.
//!
//! A route names a source (or `*`), an account, a board and optionally a section, and may
//! narrow itself with `when`: a category/tag, or a regex on the title or link. One item can
//! match several routes and then becomes one Pin per matching board.

use regex::Regex;

use crate::item::Item;
use crate::store::Target;

/// Conditions a route puts on an item. All given conditions must hold.
#[derive(Clone, Debug, Default)]
pub struct When {
    /// The item carries at least one of these categories (case-insensitive).
    pub categories: Vec<String>,
    pub title: Option<Regex>,
    pub link: Option<Regex>,
}

impl When {
    fn matches(&self, item: &Item) -> bool {
        let category_ok = self.categories.is_empty()
            || item.categories.iter().any(|have| {
                self.categories
                    .iter()
                    .any(|want| want.trim().eq_ignore_ascii_case(have.trim()))
            });
        let title_ok = self
            .title
            .as_ref()
            .is_none_or(|re| re.is_match(&item.title));
        let link_ok = self
            .link
            .as_ref()
            .is_none_or(|re| item.link.as_deref().is_some_and(|l| re.is_match(l)));
        category_ok && title_ok && link_ok
    }
}

#[derive(Clone, Debug)]
pub struct RouteRule {
    /// A stable name for the route (`routes[0]` unless configured), recorded on each job.
    pub name: String,
    /// A source id, or `*` for every source.
    pub source: String,
    pub account: String,
    pub board: String,
    pub section: Option<String>,
    pub when: When,
}

/// The configured routes, in order.
#[derive(Clone, Debug, Default)]
pub struct Routes {
    rules: Vec<RouteRule>,
}

impl Routes {
    pub fn new(rules: Vec<RouteRule>) -> Self {
        Self { rules }
    }

    pub fn rules(&self) -> &[RouteRule] {
        &self.rules
    }

    /// Every target the item maps to, one per distinct (account, board, section).
    pub fn targets(&self, item: &Item) -> Vec<Target> {
        let mut out: Vec<Target> = Vec::new();
        for rule in &self.rules {
            if (rule.source == "*" || rule.source == item.source.as_str())
                && rule.when.matches(item)
            {
                let target = Target {
                    route: rule.name.clone(),
                    account: rule.account.clone(),
                    board: rule.board.clone(),
                    section: rule.section.clone(),
                };
                let duplicate = out.iter().any(|t| {
                    t.account == target.account
                        && t.board == target.board
                        && t.section == target.section
                });
                if !duplicate {
                    out.push(target);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{DedupKey, SourceId};

    fn rule(name: &str, source: &str, board: &str, when: When) -> RouteRule {
        RouteRule {
            name: name.into(),
            source: source.into(),
            account: "main".into(),
            board: board.into(),
            section: None,
            when,
        }
    }

    fn item(categories: &[&str], title: &str) -> Item {
        let mut item = Item::new(SourceId::new("blog"), DedupKey::new("guid", "1"));
        item.title = title.into();
        item.categories = categories.iter().map(|c| c.to_string()).collect();
        item
    }

    #[test]
    fn routes_match_by_source_category_and_title() {
        let routes = Routes::new(vec![
            rule("all", "blog", "Everything", When::default()),
            rule(
                "cakes",
                "blog",
                "Cakes",
                When {
                    categories: vec!["Dessert".into()],
                    title: Some(Regex::new("(?i)cake").unwrap()),
                    link: None,
                },
            ),
            rule("other", "shop", "Products", When::default()),
        ]);
        let boards = |i: &Item| {
            routes
                .targets(i)
                .into_iter()
                .map(|t| t.board)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            boards(&item(&["dessert"], "Lemon Cake")),
            ["Everything", "Cakes"]
        );
        assert_eq!(boards(&item(&["dessert"], "Pie")), ["Everything"]);
        assert_eq!(boards(&item(&[], "Cake")), ["Everything"]);
    }

    #[test]
    fn the_same_board_twice_is_one_target() {
        let routes = Routes::new(vec![
            rule("a", "*", "Board", When::default()),
            rule("b", "blog", "Board", When::default()),
        ]);
        assert_eq!(routes.targets(&item(&[], "x")).len(), 1);
    }

    #[test]
    fn a_link_condition_needs_a_link() {
        let routes = Routes::new(vec![rule(
            "a",
            "*",
            "Board",
            When {
                link: Some(Regex::new("example").unwrap()),
                ..When::default()
            },
        )]);
        let mut with_link = item(&[], "x");
        with_link.link = Some("https://example.com/x".into());
        assert_eq!(routes.targets(&with_link).len(), 1);
        assert!(routes.targets(&item(&[], "x")).is_empty());
    }
}
