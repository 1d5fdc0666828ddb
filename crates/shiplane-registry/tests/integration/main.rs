//! Integration tests against real components: Debian's `docker-registry` (distribution 2.8.2),
//! started per test by `support::TestRegistry`, and `skopeo` as an independent client.
//!
//! Timings are printed (run with `--nocapture` to see them), never asserted.

#![expect(
    clippy::unwrap_used,
    reason = "helpers shared by tests panic on setup failures, like the tests themselves"
)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use shiplane_registry::protocol::{OCI_INDEX_V1, OCI_MANIFEST_V1};
use shiplane_registry::{
    ClientOptions, ConnectOptions, Credentials, Digest, NetworkTimeouts, OciLayout, Reference,
    Registry, RegistryClient, RegistryError, RepoRef, RetryPolicy, copy_image, push_image,
    registry_from_ref,
};
use support::{
    RegistryConfig, TestRegistry, TestRegistryClients as _, fast_retry, have, packed, skopeo,
};

fn tag(t: &str) -> Reference {
    Reference::Tag(t.to_owned())
}

#[tokio::test]
async fn pack_push_resolve_and_head_verify_agree() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let client = registry.client();
    let image = packed("hello");
    let started = Instant::now();
    let report = push_image(&client, "team/app", "v1", &image).await.unwrap();
    let push_time = started.elapsed();
    assert_eq!(report.digest, image.digests.manifest);
    assert_eq!(report.blobs_copied, 2);

    let started = Instant::now();
    let resolved = client.resolve("team/app", "v1").await.unwrap();
    eprintln!(
        "timing: push of a packed image {push_time:?}, resolve {:?}",
        started.elapsed()
    );
    assert_eq!(resolved, image.digests.manifest);
    let info = client
        .head_digest("team/app", &resolved)
        .await
        .unwrap()
        .expect("manifest exists");
    assert_eq!(info.media_type, OCI_MANIFEST_V1);
    assert_eq!(info.size, image.manifest_bytes.len() as u64);

    let manifest = client.get_manifest("team/app", &tag("v1")).await.unwrap();
    assert_eq!(manifest.bytes, image.manifest_bytes);
    assert_eq!(manifest.media_type, OCI_MANIFEST_V1);
    let layer = client
        .get_blob("team/app", &image.digests.layer)
        .await
        .unwrap();
    assert_eq!(layer, image.layer_bytes);

    // A second push skips both blobs.
    let again = push_image(&client, "team/app", "v1", &image).await.unwrap();
    assert_eq!((again.blobs_copied, again.blobs_skipped), (0, 2));

    // Unknown things are typed 404s, and an absent digest HEADs to None.
    let missing = client.resolve("team/app", "nope").await.unwrap_err();
    assert!(
        matches!(&missing, RegistryError::NotFound { code, .. } if code == "MANIFEST_UNKNOWN"),
        "{missing}"
    );
    // distribution 2.8 says MANIFEST_UNKNOWN for a manifest of an unknown repository, and
    // NAME_UNKNOWN when listing its tags.
    let unknown_repo = client.resolve("team/other", "v1").await.unwrap_err();
    assert!(
        matches!(&unknown_repo, RegistryError::NotFound { .. }),
        "{unknown_repo}"
    );
    let unknown_repo = client.list_tags("team/other").await.unwrap_err();
    assert!(
        matches!(&unknown_repo, RegistryError::NotFound { code, .. } if code == "NAME_UNKNOWN"),
        "{unknown_repo}"
    );
    assert!(!unknown_repo.is_retryable());
    let absent = Digest::sha256_of(b"absent");
    assert_eq!(client.head_digest("team/app", &absent).await.unwrap(), None);
    assert!(!client.blob_exists("team/app", &absent).await.unwrap());
}

#[tokio::test]
async fn skopeo_inspect_reports_our_digest() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    if !have("skopeo") {
        return;
    }
    let client = registry.client();
    let image = packed("inspect me");
    push_image(&client, "peer/app", "v1", &image).await.unwrap();
    let ours = client.resolve("peer/app", "v1").await.unwrap();
    let reference = format!("docker://{}/peer/app:v1", registry.host());
    let started = Instant::now();
    let output = skopeo(&["inspect", "--tls-verify=false", &reference]);
    eprintln!("timing: skopeo inspect {:?}", started.elapsed());
    let inspected: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(inspected["Digest"], ours.as_str());
    assert_eq!(inspected["Architecture"], "amd64");
    assert_eq!(inspected["Os"], "linux");
}

#[tokio::test]
async fn image_pushed_by_skopeo_from_our_layout_resolves() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    if !have("skopeo") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout_dir = tmp.path().join("layout");
    let layout = OciLayout::open_or_create(&layout_dir).unwrap();
    let image = packed("via skopeo");
    // The unnamed repository (bare tag, as skopeo's oci:DIR:TAG) and a named one (REPO:TAG).
    push_image(&layout, "", "v1", &image).await.unwrap();
    push_image(&layout, "team/app", "v2", &image).await.unwrap();
    let started = Instant::now();
    for (source, target) in [("v1", "skopeo/bare:v1"), ("team/app:v2", "skopeo/named:v2")] {
        skopeo(&[
            "--insecure-policy",
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:{source}", layout_dir.display()),
            &format!("docker://{}/{target}", registry.host()),
        ]);
    }
    eprintln!("timing: two skopeo copies {:?}", started.elapsed());
    let client = registry.client();
    assert_eq!(
        client.resolve("skopeo/bare", "v1").await.unwrap(),
        image.digests.manifest
    );
    assert_eq!(
        client.resolve("skopeo/named", "v2").await.unwrap(),
        image.digests.manifest
    );

    // And the other way: a layout skopeo writes is readable as our unnamed repository.
    let written_by_skopeo = tmp.path().join("from-skopeo");
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{}/skopeo/bare:v1", registry.host()),
        &format!("oci:{}:latest", written_by_skopeo.display()),
    ]);
    let theirs = OciLayout::open(&written_by_skopeo).unwrap();
    assert_eq!(
        theirs.resolve("", "latest").await.unwrap(),
        image.digests.manifest
    );
    assert_eq!(theirs.list_tags("").await.unwrap(), vec!["latest"]);
}

#[tokio::test]
async fn basic_auth_right_and_wrong_credentials() {
    let password = "correct-horse-battery";
    let Some(registry) = TestRegistry::start(&RegistryConfig {
        auth: Some(("alice", password)),
        ..RegistryConfig::default()
    }) else {
        return;
    };
    let image = packed("secret stuff");
    let good = registry.client_with(Some(Credentials::new("alice", password)));
    push_image(&good, "private/app", "v1", &image)
        .await
        .unwrap();
    assert_eq!(
        good.resolve("private/app", "v1").await.unwrap(),
        image.digests.manifest
    );

    let wrong_password = "wrong-staple-9f3b";
    let bad = registry.client_with(Some(Credentials::new("alice", wrong_password)));
    let error = bad.resolve("private/app", "v1").await.unwrap_err();
    assert!(
        matches!(error, RegistryError::Unauthorized { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    let shown = format!("{error} {error:?} {bad:?}");
    assert!(shown.contains("alice"), "{shown}");
    assert!(!shown.contains(wrong_password), "{shown}");
    assert!(!shown.contains(password), "{shown}");

    let anonymous = registry.client();
    let error = anonymous.resolve("private/app", "v1").await.unwrap_err();
    assert!(
        matches!(&error, RegistryError::Unauthorized { detail, .. } if detail.contains("no credentials")),
        "{error}"
    );

    // Credentials from the environment, through registry_from_ref.
    let mut options = ConnectOptions::default();
    let key = shiplane_registry::env_host_key(&registry.host());
    options.credentials.env.insert(
        format!("SHIPLANE_REGISTRY_{key}_USERNAME"),
        "alice".to_owned(),
    );
    options.credentials.env.insert(
        format!("SHIPLANE_REGISTRY_{key}_PASSWORD"),
        password.to_owned(),
    );
    let opened =
        registry_from_ref(&format!("{}/private/app:v1", registry.host()), &options).unwrap();
    assert_eq!(
        opened
            .registry
            .resolve(opened.location.repository(), "v1")
            .await
            .unwrap(),
        image.digests.manifest
    );
    assert!(!format!("{opened:?}").contains(password));
}

#[tokio::test]
async fn moved_tag_resolves_to_the_new_digest() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let client = registry.client();
    let first = packed("one");
    let second = packed("two");
    push_image(&client, "app", "stable", &first).await.unwrap();
    assert_eq!(
        client.resolve("app", "stable").await.unwrap(),
        first.digests.manifest
    );
    push_image(&client, "app", "stable", &second).await.unwrap();
    assert_eq!(
        client.resolve("app", "stable").await.unwrap(),
        second.digests.manifest
    );
    // Moving it back is a manifest PUT only.
    client
        .put_manifest(
            "app",
            &tag("stable"),
            OCI_MANIFEST_V1,
            first.manifest_bytes.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        client.resolve("app", "stable").await.unwrap(),
        first.digests.manifest
    );
}

/// Reads one HTTP request head (and whatever body bytes came with it).
async fn read_head(stream: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    Some(head)
}

/// Forwards one request to `upstream` with `Connection: close` and relays until both ends
/// close, so the next request needs a new connection and is seen by the proxy.
async fn forward_one(mut inbound: tokio::net::TcpStream, head: &[u8], upstream: u16) {
    use tokio::io::AsyncWriteExt as _;
    let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else {
        return;
    };
    let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0);
    let mut forwarded = head[..end].to_vec();
    forwarded.extend_from_slice(b"\r\nConnection: close");
    forwarded.extend_from_slice(&head[end..]);
    if outbound.write_all(&forwarded).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    }
}

/// A fault to inject: given the request line and how many requests came before, the status
/// code and message to answer with instead of forwarding.
type Fault = dyn Fn(&str, usize) -> Option<(u16, &'static str)> + Send + Sync;

/// A loopback proxy in front of `upstream` that injects the faults `fault` chooses. Every
/// connection carries one request (forwarded with `Connection: close`), so every request is
/// seen. Returns the port and the number of requests seen.
async fn fault_proxy(upstream: u16, fault: Arc<Fault>) -> (u16, Arc<AtomicUsize>) {
    use tokio::io::AsyncWriteExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let (counter, fault) = (counter.clone(), fault.clone());
            tokio::spawn(async move {
                let Some(head) = read_head(&mut inbound).await else {
                    return;
                };
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                if let Some((status, message)) =
                    fault(&line, counter.fetch_add(1, Ordering::SeqCst))
                {
                    let body =
                        format!(r#"{{"errors":[{{"code":"UNKNOWN","message":"{message}"}}]}}"#);
                    let response = format!(
                        "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = inbound.write_all(response.as_bytes()).await;
                    return;
                }
                forward_one(inbound, &head, upstream).await;
            });
        }
    });
    (port, served)
}

/// The first `failures` requests answer 500.
fn first_requests_fail(failures: usize) -> Arc<Fault> {
    Arc::new(move |_, seen| (seen < failures).then_some((500, "injected failure")))
}

fn client_for_port(port: u16, retry: RetryPolicy) -> RegistryClient {
    RegistryClient::new(
        &format!("127.0.0.1:{port}"),
        ClientOptions {
            retry,
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn resolve_falls_back_to_get_when_head_is_refused() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let image = packed("no head");
    push_image(&registry.client(), "app", "v1", &image)
        .await
        .unwrap();
    let heads = Arc::new(AtomicUsize::new(0));
    let counted = heads.clone();
    let (port, _) = fault_proxy(
        registry.port,
        Arc::new(move |line: &str, _| {
            line.starts_with("HEAD ").then(|| {
                counted.fetch_add(1, Ordering::SeqCst);
                (405, "HEAD not allowed here")
            })
        }),
    )
    .await;
    let client = client_for_port(port, fast_retry());
    assert_eq!(
        client.resolve("app", "v1").await.unwrap(),
        image.digests.manifest
    );
    assert_eq!(
        heads.load(Ordering::SeqCst),
        1,
        "HEAD is tried once, then GET"
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_the_registry_recovers() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let image = packed("flaky");
    push_image(&registry.client(), "app", "v1", &image)
        .await
        .unwrap();

    let (port, served) = fault_proxy(registry.port, first_requests_fail(2)).await;
    let through_proxy = client_for_port(port, fast_retry());
    let started = Instant::now();
    assert_eq!(
        through_proxy.resolve("app", "v1").await.unwrap(),
        image.digests.manifest
    );
    eprintln!(
        "timing: resolve through two injected 500s {:?}",
        started.elapsed()
    );
    assert!(served.load(Ordering::SeqCst) >= 3);

    // 429 is retried too.
    let (port, _) = fault_proxy(
        registry.port,
        Arc::new(|_, seen| (seen == 0).then_some((429, "slow down"))),
    )
    .await;
    assert_eq!(
        client_for_port(port, fast_retry())
            .resolve("app", "v1")
            .await
            .unwrap(),
        image.digests.manifest
    );

    // With fewer attempts than failures the error surfaces, typed and retryable.
    let (port, _) = fault_proxy(registry.port, first_requests_fail(5)).await;
    let impatient = client_for_port(
        port,
        RetryPolicy {
            max_attempts: 2,
            ..fast_retry()
        },
    );
    let error = impatient
        .get_blob("app", &image.digests.layer)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, RegistryError::ServerError { status: 500, detail, .. } if detail == "injected failure"),
        "{error}"
    );
    assert!(error.is_retryable());

    // A refused connection is a retryable Connection error.
    let closed = RegistryClient::new(
        &format!("127.0.0.1:{}", support::free_port()),
        ClientOptions {
            retry: RetryPolicy {
                max_attempts: 2,
                ..fast_retry()
            },
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let error = closed.resolve("app", "v1").await.unwrap_err();
    assert!(matches!(error, RegistryError::Connection { .. }), "{error}");
    assert!(error.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_tags_with_a_thousand_tags() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let client = Arc::new(registry.client());
    let image = packed("many tags");
    push_image(client.as_ref(), "many", "t0000", &image)
        .await
        .unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let client = client.clone();
        let manifest = image.manifest_bytes.clone();
        tasks.push(tokio::spawn(async move {
            for i in (1..1000).filter(|i| i % 4 == worker) {
                client
                    .put_manifest(
                        "many",
                        &Reference::Tag(format!("t{i:04}")),
                        OCI_MANIFEST_V1,
                        manifest.clone(),
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let tag_time = started.elapsed();
    let started = Instant::now();
    let tags = client.list_tags("many").await.unwrap();
    eprintln!(
        "timing: 999 manifest PUTs on 4 tasks {tag_time:?}, list_tags of 1,000 {:?}",
        started.elapsed()
    );
    let expected: Vec<String> = (0..1000).map(|i| format!("t{i:04}")).collect();
    assert_eq!(tags, expected);
}

#[tokio::test]
async fn delete_by_digest() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let client = registry.client();
    let image = packed("short-lived");
    push_image(&client, "gc/app", "v1", &image).await.unwrap();
    push_image(&client, "gc/app", "v1-alias", &image)
        .await
        .unwrap();
    let digest = client.resolve("gc/app", "v1").await.unwrap();
    client.delete_manifest("gc/app", &digest).await.unwrap();
    assert_eq!(client.head_digest("gc/app", &digest).await.unwrap(), None);
    assert!(matches!(
        client.resolve("gc/app", "v1").await,
        Err(RegistryError::NotFound { .. })
    ));
    // Every tag on the digest went with it; the registry answers `"tags": null` now.
    assert!(client.list_tags("gc/app").await.unwrap().is_empty());
    assert!(matches!(
        client.delete_manifest("gc/app", &digest).await,
        Err(RegistryError::NotFound { .. })
    ));

    // A registry without deletion says so clearly.
    let Some(locked) = TestRegistry::start(&RegistryConfig {
        no_delete: true,
        ..RegistryConfig::default()
    }) else {
        return;
    };
    let client = locked.client();
    push_image(&client, "keep/app", "v1", &image).await.unwrap();
    let error = client
        .delete_manifest("keep/app", &image.digests.manifest)
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::DeleteUnsupported { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("does not allow deleting"));
}

/// An index of two single-platform images, pushed child by child.
async fn push_index(registry: &dyn Registry, repository: &str, tag_name: &str) -> Digest {
    let amd = packed("index child one");
    let arm = packed("index child two");
    let mut children = Vec::new();
    for (image, arch) in [(&amd, "amd64"), (&arm, "arm64")] {
        for (digest, bytes) in [
            (&image.digests.config, &image.config_bytes),
            (&image.digests.layer, &image.layer_bytes),
        ] {
            registry
                .upload_blob(repository, digest, bytes.clone())
                .await
                .unwrap();
        }
        registry
            .put_manifest(
                repository,
                &Reference::Digest(image.digests.manifest.clone()),
                OCI_MANIFEST_V1,
                image.manifest_bytes.clone(),
            )
            .await
            .unwrap();
        children.push(serde_json::json!({
            "mediaType": OCI_MANIFEST_V1,
            "digest": image.digests.manifest.as_str(),
            "size": image.manifest_bytes.len(),
            "platform": {"architecture": arch, "os": "linux"},
        }));
    }
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX_V1,
        "manifests": children,
    }))
    .unwrap();
    registry
        .put_manifest(repository, &tag(tag_name), OCI_INDEX_V1, Bytes::from(index))
        .await
        .unwrap()
}

#[tokio::test]
async fn copy_between_repositories_and_registries_preserves_digests() {
    let Some(first) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let Some(second) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let (a, b) = (first.client(), second.client());
    let image = packed("copy me");
    push_image(&a, "src/app", "v1", &image).await.unwrap();

    // Same registry, another repository: blobs are mounted, not transferred.
    let report = copy_image(
        &a,
        &RepoRef::new("src/app", tag("v1")),
        &a,
        &RepoRef::new("dst/app", tag("prod")),
    )
    .await
    .unwrap();
    assert_eq!(report.digest, image.digests.manifest);
    assert_eq!(
        (report.blobs_mounted, report.blobs_copied),
        (2, 0),
        "{report:?}"
    );
    assert_eq!(
        a.resolve("dst/app", "prod").await.unwrap(),
        image.digests.manifest
    );

    // Another registry: blobs are transferred; a second copy skips them.
    let started = Instant::now();
    let report = copy_image(
        &a,
        &RepoRef::new("src/app", tag("v1")),
        &b,
        &RepoRef::new("mirror/app", tag("v1")),
    )
    .await
    .unwrap();
    eprintln!(
        "timing: registry-to-registry copy {:?} ({} bytes)",
        started.elapsed(),
        report.bytes_copied
    );
    assert_eq!(report.blobs_copied, 2);
    assert_eq!(
        b.resolve("mirror/app", "v1").await.unwrap(),
        image.digests.manifest
    );
    let again = copy_image(
        &a,
        &RepoRef::new("src/app", tag("v1")),
        &b,
        &RepoRef::new("mirror/app", tag("v1")),
    )
    .await
    .unwrap();
    assert_eq!((again.blobs_copied, again.blobs_skipped), (0, 2));

    // An index with two children.
    let index_digest = push_index(&a, "multi/app", "v1").await;
    let report = copy_image(
        &a,
        &RepoRef::new("multi/app", tag("v1")),
        &b,
        &RepoRef::new("multi/app", Reference::Digest(index_digest.clone())),
    )
    .await
    .unwrap();
    assert_eq!(report.digest, index_digest);
    assert_eq!(report.manifests_written, 3);
    let fetched = b
        .get_manifest("multi/app", &Reference::Digest(index_digest.clone()))
        .await
        .unwrap();
    assert_eq!(fetched.media_type, OCI_INDEX_V1);
}

#[tokio::test]
async fn copy_registry_to_layout_to_registry_preserves_digests() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let client = registry.client();
    let image = packed("round trip");
    push_image(&client, "src/app", "v1", &image).await.unwrap();
    let index_digest = push_index(&client, "src/multi", "v1").await;

    let tmp = tempfile::tempdir().unwrap();
    let opened = registry_from_ref(
        &format!("oci-layout:{}:team/app:v1", tmp.path().join("l").display()),
        &ConnectOptions::default(),
    )
    .unwrap();
    let layout = opened.registry.as_ref();
    assert_eq!(opened.location.repository(), "team/app");

    for (source, digest) in [
        ("src/app", &image.digests.manifest),
        ("src/multi", &index_digest),
    ] {
        let in_layout = copy_image(
            &client,
            &RepoRef::new(source, tag("v1")),
            layout,
            &RepoRef::new(source, tag("v1")),
        )
        .await
        .unwrap();
        assert_eq!(&in_layout.digest, digest);
        assert_eq!(&layout.resolve(source, "v1").await.unwrap(), digest);
        let back = copy_image(
            layout,
            &RepoRef::new(source, tag("v1")),
            &client,
            &RepoRef::new(format!("back/{source}"), tag("v2")),
        )
        .await
        .unwrap();
        assert_eq!(&back.digest, digest);
        assert_eq!(
            &client
                .resolve(&format!("back/{source}"), "v2")
                .await
                .unwrap(),
            digest
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layout_parallel_writers_keep_every_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shared");
    OciLayout::open_or_create(&dir).unwrap();
    let image = packed("parallel");

    // Tasks in this process, each with its own handle on the directory.
    let mut tasks = Vec::new();
    for writer in 0..6 {
        let dir = dir.clone();
        let image = image.clone();
        tasks.push(tokio::spawn(async move {
            let layout = OciLayout::open_or_create(&dir).unwrap();
            for i in 0..20 {
                push_image(&layout, "app", &format!("task{writer}-{i}"), &image)
                    .await
                    .unwrap();
            }
        }));
    }
    // And separate processes: this test binary re-run as a writer.
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let children: Vec<_> = (0..3)
        .map(|writer| {
            std::process::Command::new(&exe)
                .args(["--exact", "layout_writer_process", "--nocapture"])
                .env(
                    "SHIPLANE_TEST_LAYOUT_WRITER",
                    format!("{}|proc{writer}", dir.display()),
                )
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    eprintln!(
        "timing: 120 task + 60 process layout tag writes {:?}",
        started.elapsed()
    );
    let tags = OciLayout::open(&dir)
        .unwrap()
        .list_tags("app")
        .await
        .unwrap();
    assert_eq!(tags.len(), 6 * 20 + 3 * 20, "{tags:?}");
}

/// The writer half of `layout_parallel_writers_keep_every_tag`; does nothing unless that test
/// started this process.
#[tokio::test]
async fn layout_writer_process() {
    let Ok(spec) = std::env::var("SHIPLANE_TEST_LAYOUT_WRITER") else {
        return;
    };
    let (dir, prefix) = spec.split_once('|').unwrap();
    let layout = OciLayout::open(dir).unwrap();
    let image = packed("parallel");
    for i in 0..20 {
        push_image(&layout, "app", &format!("{prefix}-{i}"), &image)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn location_strings_open_the_right_store() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let image = packed("by reference");
    let opened = registry_from_ref(
        &format!("{}/ref/app:v3", registry.host()),
        &ConnectOptions::default(),
    )
    .unwrap();
    assert_eq!(opened.registry.name(), registry.host());
    let location = &opened.location;
    push_image(
        opened.registry.as_ref(),
        location.repository(),
        location.tag().unwrap(),
        &image,
    )
    .await
    .unwrap();
    assert_eq!(
        registry.client().resolve("ref/app", "v3").await.unwrap(),
        image.digests.manifest
    );
    let error = registry_from_ref("Not A Ref", &ConnectOptions::default()).unwrap_err();
    assert!(matches!(error, RegistryError::InvalidReference { .. }));
}

/// A token-auth gate in front of a real registry, like Docker Hub's or Harbor's: requests
/// without `Authorization: Bearer <token>` get a 401 challenge naming a token realm on the same
/// port; `/token` checks Basic credentials and records the scopes asked for. Every connection
/// carries one request (forwarded with `Connection: close`), so every request is inspected.
async fn token_gate(
    upstream: u16,
    user: &'static str,
    password: &'static str,
) -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
    use base64::Engine as _;
    use tokio::io::AsyncWriteExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let scopes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = scopes.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let Some(head) = read_head(&mut inbound).await else {
                    return;
                };
                let text = String::from_utf8_lossy(&head).into_owned();
                let target = text
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let authorization = text
                    .lines()
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                            .map(|(_, v)| v.trim().to_owned())
                    })
                    .unwrap_or_default();
                let respond = |status: &str, extra: String, body: String| {
                    format!(
                        "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let reply = if let Some(query) = target.strip_prefix("/token?") {
                    let expected = format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD
                            .encode(format!("{user}:{password}"))
                    );
                    if authorization == expected {
                        let mut asked: Vec<String> = query
                            .split('&')
                            .filter_map(|p| p.strip_prefix("scope="))
                            .map(|s| {
                                s.replace("%3A", ":")
                                    .replace("%2F", "/")
                                    .replace("%2C", ",")
                            })
                            .collect();
                        assert!(query.contains("service=gate"), "{query}");
                        seen.lock().unwrap().append(&mut asked);
                        respond(
                            "200 OK",
                            String::new(),
                            r#"{"token":"gate-token"}"#.to_owned(),
                        )
                    } else {
                        respond("401 Unauthorized", String::new(), "{}".to_owned())
                    }
                } else if authorization == "Bearer gate-token" {
                    forward_one(inbound, &head, upstream).await;
                    return;
                } else {
                    let challenge = format!(
                        "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"gate\",scope=\"repository:x:pull\"\r\n"
                    );
                    respond(
                        "401 Unauthorized",
                        challenge,
                        r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.to_owned(),
                    )
                };
                let _ = inbound.write_all(reply.as_bytes()).await;
            });
        }
    });
    (port, scopes)
}

#[tokio::test]
async fn bearer_token_flow_asks_one_scope_per_operation() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        return;
    };
    let (port, scopes) = token_gate(registry.port, "carol", "t0ken-pass").await;
    let gate = |credentials| {
        RegistryClient::new(
            &format!("127.0.0.1:{port}"),
            ClientOptions {
                credentials,
                retry: fast_retry(),
                ..ClientOptions::default()
            },
        )
        .unwrap()
    };
    let client = gate(Some(Credentials::new("carol", "t0ken-pass")));
    let image = packed("behind a token");
    push_image(&client, "auth/app", "v1", &image).await.unwrap();
    assert_eq!(
        client.resolve("auth/app", "v1").await.unwrap(),
        image.digests.manifest
    );
    client
        .delete_manifest("auth/app", &image.digests.manifest)
        .await
        .unwrap();
    let asked = scopes.lock().unwrap().clone();
    for scope in [
        "repository:auth/app:pull,push",
        "repository:auth/app:pull",
        "repository:auth/app:delete",
    ] {
        assert!(asked.iter().any(|s| s == scope), "{scope} not in {asked:?}");
    }
    // Tokens are cached per scope: one token request per distinct scope.
    assert_eq!(asked.len(), 3, "{asked:?}");

    let wrong = gate(Some(Credentials::new("carol", "not-the-pass")));
    let error = wrong.resolve("auth/app", "v1").await.unwrap_err();
    assert!(
        matches!(error, RegistryError::Unauthorized { .. }),
        "{error}"
    );
    assert!(!format!("{error} {error:?}").contains("not-the-pass"));
}

/// Regression: an HTTP registry that accepts the connection and never answers must not hang a
/// command. The request ends with a timeout that names the limit and the setting, and it is
/// not retried in-process (that would multiply the documented bound).
#[tokio::test]
async fn a_registry_that_accepts_and_never_answers_fails_within_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let client = RegistryClient::new(
        &format!("127.0.0.1:{port}"),
        ClientOptions {
            retry: fast_retry(),
            timeouts: NetworkTimeouts::from_inactivity(Duration::from_millis(700)),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    // Only a hang guard, far above the limit under test; nothing asserts on elapsed time.
    let error = tokio::time::timeout(Duration::from_mins(3), client.resolve("app", "v1"))
        .await
        .expect("the request never ended: the network timeout did not fire")
        .unwrap_err();
    assert!(
        matches!(&error, RegistryError::TimedOut { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    let text = error.to_string();
    for needle in [
        "timed out",
        "received nothing for 700 ms",
        "SHIPLANE_NETWORK_TIMEOUT",
        "/v2/app/manifests/v1",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "a timeout is not retried"
    );
}
