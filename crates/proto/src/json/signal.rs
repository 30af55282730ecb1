//! `signal.data` is opaque: JSON clients may send any value. A string is carried as
//! it is; any other value as its JSON text with `data_json` set, so that a JSON
//! receiver gets back exactly the value that was sent.

use serde::de::{Deserializer, Error as _};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Signal;

impl Serialize for Signal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(to) = &self.to {
            map.serialize_entry("to", to)?;
        }
        if let Some(from) = &self.from {
            map.serialize_entry("from", from)?;
        }
        map.serialize_entry("call", &self.call)?;
        match self
            .data_json
            .then(|| RawValue::from_string(self.data.clone()))
        {
            Some(Ok(raw)) => map.serialize_entry("data", &raw)?,
            _ => map.serialize_entry("data", &self.data)?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            to: Option<String>,
            from: Option<String>,
            #[serde(default)]
            call: String,
            // A `Value`, not a `RawValue`: frames reach here through serde's
            // flatten buffer, which cannot hand out raw text.
            data: Option<serde_json::Value>,
        }
        let wire = Wire::deserialize(d)?;
        let (data, data_json) = match wire.data {
            None | Some(serde_json::Value::Null) => (String::new(), false),
            Some(serde_json::Value::String(text)) => (text, false),
            Some(value) => (value.to_string(), true),
        };
        if data.len() > u32::MAX as usize {
            return Err(D::Error::custom("data too long"));
        }
        Ok(Signal {
            to: wire.to,
            from: wire.from,
            call: wire.call,
            data,
            data_json,
        })
    }
}
