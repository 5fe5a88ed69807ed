//! Generic field mapping: JSON Pointers from the source's `mapping` table to `Item` fields.
//!
//! Used by the presets whose payload has no fixed shape (`generic`, `github`, `stripe`,
//! `standard-webhooks`, `svix`).

use serde::Deserialize;
use serde_json::Value;

use super::json::{At, FieldError, check_pointer};
use super::mapped::{Mapped, rfc3339_ms};
use crate::item::{DedupKey, Item, SourceId};
use crate::settings::{ConfigProblem, join};

/// `mapping = { id = "/data/id", title = "/data/name", … }`
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct MappingSettings {
    /// The resource id (string or integer): the item's dedup key. Required.
    pub id: Option<String>,
    /// Required.
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub image: Option<String>,
    pub image_alt: Option<String>,
    /// An array of strings, or one comma-separated string.
    pub tags: Option<String>,
    /// An RFC 3339 date-time.
    pub published: Option<String>,
    /// Only deliveries whose value here is one of `publish_values` become Pins; others are
    /// recorded as skipped.
    pub publish_pointer: Option<String>,
    pub publish_values: Vec<String>,
    /// A delivery whose value here is one of `deleted_values` says the resource was deleted
    /// (or unpublished): its Pins follow the routes' `on_delete`, and nothing else is read.
    pub deleted_when: Option<String>,
    pub deleted_values: Vec<String>,
}

impl MappingSettings {
    pub fn validate(&self, path: &str, problems: &mut Vec<ConfigProblem>) {
        for (key, required) in [("id", true), ("title", true)] {
            if required && self.pointer(key).is_none() {
                problems.push(ConfigProblem::new(
                    join(path, key),
                    "required: a JSON Pointer such as \"/data/id\"",
                ));
            }
        }
        for key in FIELDS {
            if let Some(pointer) = self.pointer(key)
                && let Err(e) = check_pointer(pointer)
            {
                problems.push(ConfigProblem::new(join(path, key), e));
            }
        }
        match (&self.publish_pointer, self.publish_values.is_empty()) {
            (Some(_), true) => problems.push(ConfigProblem::new(
                join(path, "publish_values"),
                "required with publish_pointer: the values that mean \"published\"",
            )),
            (None, false) => problems.push(ConfigProblem::new(
                join(path, "publish_values"),
                "only used with publish_pointer",
            )),
            _ => {}
        }
        match (&self.deleted_when, self.deleted_values.is_empty()) {
            (Some(_), true) => problems.push(ConfigProblem::new(
                join(path, "deleted_values"),
                "required with deleted_when: the values that mean \"deleted\"",
            )),
            (None, false) => problems.push(ConfigProblem::new(
                join(path, "deleted_values"),
                "only used with deleted_when",
            )),
            _ => {}
        }
    }

    fn pointer(&self, key: &str) -> Option<&str> {
        match key {
            "id" => self.id.as_deref(),
            "title" => self.title.as_deref(),
            "description" => self.description.as_deref(),
            "link" => self.link.as_deref(),
            "image" => self.image.as_deref(),
            "image_alt" => self.image_alt.as_deref(),
            "tags" => self.tags.as_deref(),
            "published" => self.published.as_deref(),
            "publish_pointer" => self.publish_pointer.as_deref(),
            "deleted_when" => self.deleted_when.as_deref(),
            _ => None,
        }
    }
}

const FIELDS: [&str; 10] = [
    "id",
    "title",
    "description",
    "link",
    "image",
    "image_alt",
    "tags",
    "published",
    "publish_pointer",
    "deleted_when",
];

/// A validated mapping.
#[derive(Clone, Debug)]
pub struct Mapping(MappingSettings);

impl Mapping {
    pub fn new(settings: MappingSettings) -> Result<Self, String> {
        let mut problems = Vec::new();
        settings.validate("mapping", &mut problems);
        match problems.first() {
            None => Ok(Self(settings)),
            Some(p) => Err(p.to_string()),
        }
    }

    pub fn map(&self, source: &SourceId, doc: &Value) -> Result<Mapped, FieldError> {
        let m = &self.0;
        let root = At::root(doc);
        let at = |p: &Option<String>| p.as_deref().map(|p| root.pointer(p));
        let id = at(&m.id)
            .map(|a| a.req_id())
            .transpose()?
            .unwrap_or_default();
        let key = DedupKey::new("id", &id);
        if let Some(gate) = at(&m.deleted_when)
            && let Some(v) = gate.scalar_text()
            && m.deleted_values.contains(&v)
        {
            return Ok(Mapped::Removed {
                key,
                reason: format!("{} is {v:?}", gate.path()),
            });
        }
        let mut item = Item::new(source.clone(), key);
        if let Some(a) = at(&m.title) {
            item.title = a.req_str()?.to_string();
        }
        let opt = |p: &Option<String>| -> Result<Option<String>, FieldError> {
            Ok(match at(p) {
                Some(a) => a.opt_text()?.map(str::to_string),
                None => None,
            })
        };
        item.description = opt(&m.description)?.unwrap_or_default();
        item.link = opt(&m.link)?;
        item.image_url = opt(&m.image)?;
        item.image_alt = opt(&m.image_alt)?;
        item.published_ms = opt(&m.published)?.as_deref().and_then(rfc3339_ms);
        if let Some(tags) = at(&m.tags) {
            item.categories = tags_of(&tags)?;
        }
        let skip = match at(&m.publish_pointer) {
            None => None,
            Some(gate) => match gate.scalar_text() {
                Some(v) if m.publish_values.iter().any(|want| want == &v) => None,
                Some(v) => Some(format!(
                    "{} is {v:?}, not one of publish_values",
                    gate.path()
                )),
                None => Some(format!(
                    "{} is missing, not one of publish_values",
                    gate.path()
                )),
            },
        };
        Ok(Mapped::item(item, skip))
    }
}

/// Tags as an array of strings or one comma-separated string.
pub fn tags_of(at: &At<'_>) -> Result<Vec<String>, FieldError> {
    if let Some(Value::Array(_)) = at.value() {
        let mut out = Vec::new();
        for i in 0..at.opt_array()?.len() {
            if let Some(tag) = at.index(i).opt_text()? {
                out.push(tag.to_string());
            }
        }
        return Ok(out);
    }
    Ok(split_tags(at.opt_str()?.unwrap_or("")))
}

/// `"a, b ,c"` → `["a", "b", "c"]`.
pub fn split_tags(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_deleted_value_removes_the_resource_without_reading_the_rest() {
        let m = Mapping::new(MappingSettings {
            id: Some("/data/id".into()),
            title: Some("/data/name".into()),
            deleted_when: Some("/type".into()),
            deleted_values: vec!["product.deleted".into()],
            ..Default::default()
        })
        .unwrap();
        let doc = json!({"type": "product.deleted", "data": {"id": 7}});
        assert_eq!(
            m.map(&SourceId::new("s"), &doc).unwrap(),
            Mapped::Removed {
                key: DedupKey::new("id", "7"),
                reason: "$.type is \"product.deleted\"".into()
            }
        );
        let live = json!({"type": "product.updated", "data": {"id": 7, "name": "Mug"}});
        assert!(matches!(
            m.map(&SourceId::new("s"), &live).unwrap(),
            Mapped::Item { .. }
        ));
        let mut no_values = MappingSettings {
            id: Some("/id".into()),
            title: Some("/t".into()),
            deleted_when: Some("/type".into()),
            ..Default::default()
        };
        assert!(
            Mapping::new(no_values.clone()).is_err(),
            "values are required"
        );
        no_values.deleted_when = None;
        no_values.deleted_values = vec!["x".into()];
        assert!(Mapping::new(no_values).is_err(), "values need a pointer");
    }

    fn mapping() -> Mapping {
        Mapping::new(MappingSettings {
            id: Some("/data/id".into()),
            title: Some("/data/name".into()),
            link: Some("/data/url".into()),
            image: Some("/data/images/0/src".into()),
            tags: Some("/data/tags".into()),
            publish_pointer: Some("/data/status".into()),
            publish_values: vec!["active".into()],
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn maps_fields_by_pointer() {
        let doc = json!({"data": {"id": 7, "name": "Lamp", "url": "https://x.example/l",
            "images": [{"src": "https://x.example/l.jpg"}], "tags": ["a", "b"], "status": "active"}});
        let Mapped::Item { item, skip, .. } = mapping().map(&SourceId::new("s"), &doc).unwrap()
        else {
            panic!("expected an item")
        };
        assert_eq!(skip, None);
        assert_eq!(item.key, DedupKey::new("id", "7"));
        assert_eq!(item.title, "Lamp");
        assert_eq!(item.image_url.as_deref(), Some("https://x.example/l.jpg"));
        assert_eq!(item.categories, ["a", "b"]);
    }

    #[test]
    fn the_publish_gate_skips_with_a_reason() {
        let doc = json!({"data": {"id": "x", "name": "Lamp", "status": "draft"}});
        let Mapped::Item { skip, .. } = mapping().map(&SourceId::new("s"), &doc).unwrap() else {
            panic!("expected an item")
        };
        assert_eq!(
            skip.as_deref(),
            Some("$.data.status is \"draft\", not one of publish_values")
        );
    }

    #[test]
    fn wrong_types_name_the_path() {
        let doc = json!({"data": {"id": "x", "name": 5}});
        let err = mapping().map(&SourceId::new("s"), &doc).unwrap_err();
        assert_eq!(
            err.to_string(),
            "$.data.name: expected a string, found a number"
        );
        let doc = json!({"data": {"name": "n"}});
        let err = mapping().map(&SourceId::new("s"), &doc).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("$.data.id: expected a string or an integer id")
        );
    }
}
