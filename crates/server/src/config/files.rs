//! Where a cluster keeps files' bytes: the `[files]` table of the TOML file
//! (`s3_endpoint`, `s3_bucket`, `s3_region`), under the `--s3-*` flags and
//! `KOI_S3_*` variables. Without a bucket a cluster keeps them in PostgreSQL.

use anyhow::bail;
use koi_store::S3Settings;
use serde::Deserialize;

use super::ServeArgs;

/// The `[files]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSection {
    #[serde(default)]
    pub s3_endpoint: Option<String>,
    #[serde(default)]
    pub s3_bucket: Option<String>,
    #[serde(default)]
    pub s3_region: Option<String>,
}

/// The S3 settings, flags over the file: none when no bucket is named; an
/// error when an endpoint or region is given without a bucket (a setting
/// that would silently do nothing) or the endpoint is not an http(s) URL.
pub(super) fn s3_settings(
    cli: &ServeArgs,
    file: Option<&FilesSection>,
) -> anyhow::Result<Option<S3Settings>> {
    let pick = |flag: &Option<String>, key: fn(&FilesSection) -> &Option<String>| {
        flag.clone()
            .or_else(|| file.and_then(|f| key(f).clone()))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let endpoint = pick(&cli.s3_endpoint, |f| &f.s3_endpoint);
    let bucket = pick(&cli.s3_bucket, |f| &f.s3_bucket);
    let region = pick(&cli.s3_region, |f| &f.s3_region);
    let Some(bucket) = bucket else {
        if endpoint.is_some() || region.is_some() {
            bail!("s3_endpoint and s3_region need s3_bucket, the bucket files go to");
        }
        return Ok(None);
    };
    if let Some(endpoint) = &endpoint
        && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
    {
        bail!("s3_endpoint {endpoint:?} is not an http:// or https:// URL");
    }
    Ok(Some(S3Settings {
        endpoint,
        bucket,
        region,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(endpoint: Option<&str>, bucket: Option<&str>) -> ServeArgs {
        ServeArgs {
            s3_endpoint: endpoint.map(Into::into),
            s3_bucket: bucket.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn flags_override_the_files_table() {
        let file = FilesSection {
            s3_endpoint: Some("http://file:9000".into()),
            s3_bucket: Some("from-file".into()),
            s3_region: Some("eu-west-1".into()),
        };
        let settings = s3_settings(&args(None, Some("from-flag")), Some(&file))
            .unwrap()
            .unwrap();
        assert_eq!(
            settings,
            S3Settings {
                endpoint: Some("http://file:9000".into()),
                bucket: "from-flag".into(),
                region: Some("eu-west-1".into()),
            }
        );
    }

    #[test]
    fn no_bucket_means_no_s3_and_half_a_setting_is_refused() {
        assert_eq!(s3_settings(&args(None, None), None).unwrap(), None);
        assert!(s3_settings(&args(Some("http://x:9000"), None), None).is_err());
        assert!(s3_settings(&args(Some("x:9000"), Some("b")), None).is_err());
    }

    #[test]
    fn s3_is_for_a_cluster_and_read_from_the_files_table() {
        let err = args(None, Some("b")).resolve().unwrap_err().to_string();
        assert!(err.contains("cluster"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("koi.toml");
        std::fs::write(
            &path,
            "[files]\ns3_endpoint = \"https://s3.example\"\ns3_bucket = \"koi\"\n",
        )
        .unwrap();
        let cluster = ServeArgs {
            config: Some(path),
            nats: Some("nats://127.0.0.1:4222".into()),
            postgres: Some("postgres://koi@127.0.0.1/koi".into()),
            ..Default::default()
        };
        let s3 = cluster.resolve().unwrap().s3.unwrap();
        assert_eq!(
            (s3.endpoint.as_deref(), s3.bucket.as_str(), s3.region),
            (Some("https://s3.example"), "koi", None)
        );
    }
}
