//! A store in an S3-compatible bucket (AWS, MinIO, R2, Ceph, test servers),
//! with the standard AWS credential chain and path-style addressing.

use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use super::{
    Backend, BoxFuture, ChunkId, Hash, ObjectKey, Result, StoreError, StoredChunk, VersionId,
};
use crate::config::StoreConfig;

/// Seconds allowed to open a connection before the store counts as unreachable.
const CONNECT_TIMEOUT_SECS: u64 = 5;
/// Attempts per request, with the SDK's exponential backoff between them.
const MAX_ATTEMPTS: u32 = 3;

pub struct S3Backend {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    url: String,
}

impl S3Backend {
    pub async fn new(config: &StoreConfig, bucket: String, prefix: String, url: String) -> Self {
        let region = config
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .unwrap_or_else(|| "us-east-1".to_string());
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region))
            .timeout_config(
                // A stalled server must not hang a save (possibly while the
                // engine is fenced): no progress for `timeout` fails the
                // attempt, which is retried; the whole operation is bounded too.
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_SECS))
                    .read_timeout(config.timeout)
                    .operation_attempt_timeout(config.timeout * 4)
                    .operation_timeout(config.timeout * 4 * MAX_ATTEMPTS + Duration::from_secs(10))
                    .build(),
            )
            .retry_config(
                aws_config::retry::RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS),
            )
            .load()
            .await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint).force_path_style(true);
        }
        S3Backend {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            bucket,
            prefix,
            url,
        }
    }

    fn object(&self, key: &ObjectKey) -> String {
        format!("{}/{}", self.prefix, key.path())
    }

    /// Turns an SDK error into what the user needs to know.
    fn classify<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
        &self,
        op: &'static str,
        key: &str,
        err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> StoreError {
        let detail = aws_sdk_s3::error::DisplayErrorContext(&err).to_string();
        match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                if detail.contains("credentials") {
                    StoreError::Credentials {
                        url: self.url.clone(),
                        message: first_line(&detail),
                    }
                } else {
                    StoreError::Unreachable {
                        url: self.url.clone(),
                        message: first_line(&detail),
                    }
                }
            }
            SdkError::ConstructionFailure(_) => StoreError::Credentials {
                url: self.url.clone(),
                message: first_line(&detail),
            },
            _ => {
                let code = err.code().unwrap_or_default();
                match code {
                    "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "AccessDenied"
                    | "Forbidden" => StoreError::Credentials {
                        url: self.url.clone(),
                        message: err.message().unwrap_or(code).to_string(),
                    },
                    "NoSuchBucket" => StoreError::NoBucket {
                        bucket: self.bucket.clone(),
                    },
                    "NoSuchKey" | "NotFound" => StoreError::NotFound {
                        key: key.to_string(),
                    },
                    _ => StoreError::S3 {
                        op,
                        key: key.to_string(),
                        message: first_line(&detail),
                    },
                }
            }
        }
    }
}

/// An object found by listing: its key below the listed folder, size and time.
struct Listed {
    name: String,
    size: u64,
    modified: std::time::SystemTime,
}

impl S3Backend {
    /// Every object below `<prefix>/<folder>/`, all pages.
    async fn list(&self, folder: &str) -> Result<Vec<Listed>> {
        let prefix = format!("{}/{folder}/", self.prefix);
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.classify("listing", &prefix, e))?;
            for obj in page.contents() {
                let Some(name) = obj.key().and_then(|k| k.strip_prefix(&prefix)) else {
                    continue;
                };
                out.push(Listed {
                    name: name.to_string(),
                    size: obj.size().unwrap_or(0).max(0) as u64,
                    modified: obj
                        .last_modified()
                        .and_then(|t| std::time::SystemTime::try_from(*t).ok())
                        .unwrap_or(std::time::SystemTime::UNIX_EPOCH),
                });
            }
        }
        Ok(out)
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

impl Backend for S3Backend {
    fn put_bytes(&self, key: ObjectKey, bytes: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(self.object(&key))
                .body(ByteStream::from(bytes))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.classify("uploading", &key.to_string(), e))
        })
    }

    fn get_bytes(&self, key: ObjectKey) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(async move {
            let out = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(self.object(&key))
                .send()
                .await
                .map_err(|e| self.classify("downloading", &key.to_string(), e))?;
            let size = u64::try_from(out.content_length.unwrap_or(0)).unwrap_or(u64::MAX);
            if size > key.max_bytes() {
                return Err(StoreError::TooLarge {
                    key: key.to_string(),
                    size,
                    max: key.max_bytes(),
                });
            }
            let data = out.body.collect().await.map_err(|e| {
                // The SDK checks the body against the checksum stored with it.
                if format!("{e:?}").contains("ChecksumMismatch")
                    || e.to_string().contains("checksum mismatch")
                {
                    StoreError::Corrupt {
                        key: key.to_string(),
                    }
                } else {
                    StoreError::Io {
                        op: "downloading",
                        key: key.to_string(),
                        source: std::io::Error::other(e),
                    }
                }
            })?;
            Ok(data.into_bytes().to_vec())
        })
    }

    fn exists(&self, key: ObjectKey) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            match self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(self.object(&key))
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(false),
                Err(e) => match self.classify("checking", &key.to_string(), e) {
                    StoreError::NotFound { .. } => Ok(false),
                    other => Err(other),
                },
            }
        })
    }

    fn list_versions(&self) -> BoxFuture<'_, Result<Vec<VersionId>>> {
        Box::pin(async move {
            let listed = self.list("versions").await?;
            Ok(listed
                .iter()
                .filter_map(|o| o.name.strip_suffix(".json").and_then(VersionId::parse))
                .collect())
        })
    }

    fn list_folder(&self, folder: &'static str) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            Ok(self
                .list(folder)
                .await?
                .into_iter()
                .map(|o| o.name)
                .collect())
        })
    }

    fn list_tags(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            Ok(self
                .list("tags")
                .await?
                .into_iter()
                .map(|o| o.name)
                .collect())
        })
    }

    fn list_chunks(&self) -> BoxFuture<'_, Result<Vec<StoredChunk>>> {
        Box::pin(async move {
            let listed = self.list("chunks").await?;
            Ok(listed
                .into_iter()
                .filter_map(|o| {
                    let id =
                        Hash::parse(o.name.rsplit('/').next().unwrap_or_default()).map(ChunkId)?;
                    Some(StoredChunk {
                        id,
                        size: o.size,
                        modified: o.modified,
                    })
                })
                .collect())
        })
    }

    fn delete(&self, key: ObjectKey) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(self.object(&key))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.classify("deleting", &key.to_string(), e))
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(format!("{}/versions/", self.prefix))
                .max_keys(1)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.classify("checking", &self.url, e))
        })
    }
}
