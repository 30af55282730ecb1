//! In JSON a reply's `ok` is the body itself, without the operation's name; the
//! name is implied by the request the reply answers. Decoding therefore reads the
//! body's shape: the fields present tell which reply it is. Bodies that are `{}`
//! decode as `ping`, which every empty reply is equivalent to.

use serde::de::{Deserializer, Error as _};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::ok::Body;
use crate::{Empty, Ok as OkReply};

impl Serialize for OkReply {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.body {
            Some(body) => body.serialize(s),
            None => Empty {}.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for OkReply {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        let has = |key: &str| map.contains_key(key);
        fn body<T: DeserializeOwned, E: serde::de::Error>(map: Map<String, Value>) -> Result<T, E> {
            serde_json::from_value(Value::Object(map)).map_err(E::custom)
        }
        let body = if has("session") && has("user") {
            Body::Auth(body(map)?)
        } else if has("seq") && has("conv") && has("id") {
            Body::Send(body(map)?)
        } else if has("convs") {
            Body::Sync(body(map)?)
        } else if has("msgs") {
            Body::History(body(map)?)
        } else if has("delivered") {
            Body::Signal(body(map)?)
        } else if has("members") {
            Body::GroupInfo(body(map)?)
        } else if has("group") {
            Body::GroupCreate(body(map)?)
        } else if has("contacts") {
            Body::Contacts(body(map)?)
        } else if has("online") {
            Body::Presence(body(map)?)
        } else if has("profiles") {
            Body::Profiles(body(map)?)
        } else if has("dm") && has("group_add") {
            // `settings` and `settings_set` answer the same shape.
            Body::Settings(body(map)?)
        } else if has("count") && has("users") {
            Body::ReadBy(body(map)?)
        } else if has("seq") && map.len() == 1 {
            Body::Edit(body(map)?)
        } else if map.is_empty() {
            Body::Ping(Empty {})
        } else {
            return Err(D::Error::custom("unrecognised reply body"));
        };
        Ok(OkReply { body: Some(body) })
    }
}
