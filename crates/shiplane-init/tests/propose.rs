//! `propose` + `render_yaml` over one in-memory repository per ecosystem: what is detected, and
//! that the rendered intent passes the real validator.

use shiplane_init::{MemorySource, Proposal, ProposedService, propose, render_yaml};
use shiplane_intent::Severity;

/// Renders the proposal and asserts `shiplane check` would accept it with no error.
fn assert_valid(proposal: &Proposal) -> String {
    let yaml = render_yaml(proposal);
    let loaded = shiplane_intent::load_str(&yaml);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert!(
        loaded.is_valid() && errors.is_empty(),
        "{yaml}\nerrors: {errors:#?}"
    );
    yaml
}

fn repo(files: &[(&str, &str)]) -> MemorySource {
    files.iter().copied().collect()
}

fn service<'p>(p: &'p Proposal, name: &str) -> &'p ProposedService {
    p.services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no service {name} in {:#?}", p.services))
}

/// What a test expects of one service: name, paths, `depends_on`, port, health path, context.
struct Want<'a> {
    name: &'a str,
    paths: &'a [&'a str],
    depends_on: &'a [&'a str],
    port: Option<u16>,
    health: Option<&'a str>,
    context: Option<&'a str>,
}

fn check(p: &Proposal, services: &[Want<'_>], libraries: &[&str]) -> String {
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    let want_names: Vec<&str> = services.iter().map(|w| w.name).collect();
    assert_eq!(names, want_names, "services");
    for w in services {
        let s = service(p, w.name);
        assert_eq!(s.paths, w.paths, "{} paths", w.name);
        assert_eq!(s.depends_on, w.depends_on, "{} depends_on", w.name);
        assert_eq!(s.port.as_ref().map(|d| d.value), w.port, "{} port", w.name);
        assert_eq!(
            s.health.as_ref().map(|d| d.value.path.as_str()),
            w.health,
            "{} health",
            w.name
        );
        assert_eq!(
            s.build.as_ref().map(|b| b.context.as_str()),
            w.context,
            "{} context",
            w.name
        );
    }
    let libs: Vec<&str> = p.libraries.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(libs, libraries, "libraries");
    assert_valid(p)
}

#[test]
fn npm_workspaces_with_shared_ui_kit() {
    let src = repo(&[
        (
            "package.json",
            r#"{"name":"shop","private":true,"workspaces":["apps/*","packages/*"]}"#,
        ),
        ("pnpm-lock.yaml", "lockfileVersion: 9\n"),
        ("README.md", "# shop\n"),
        (
            "apps/web/package.json",
            r#"{"name":"@shop/web","scripts":{"start":"next start -p 3001"},"dependencies":{"next":"14","@shop/ui-kit":"workspace:*"}}"#,
        ),
        (
            "apps/web/Dockerfile",
            "FROM node:20\nCOPY . .\nCMD [\"npm\", \"start\"]\n",
        ),
        (
            "apps/admin/package.json",
            r#"{"name":"@shop/admin","scripts":{"start":"node server.js"},"dependencies":{"@shop/ui-kit":"*"},"devDependencies":{"@shop/utils":"*"}}"#,
        ),
        ("apps/admin/Containerfile", "FROM node:20\nEXPOSE 8080\n"),
        (
            "packages/ui-kit/package.json",
            r#"{"name":"@shop/ui-kit","dependencies":{"@shop/tokens":"*","react":"18"}}"#,
        ),
        ("packages/tokens/package.json", r#"{"name":"@shop/tokens"}"#),
        ("packages/utils/package.json", r#"{"name":"@shop/utils"}"#),
        ("packages/unused/package.json", r#"{"name":"@shop/unused"}"#),
        (
            "node_modules/next/package.json",
            r#"{"name":"next","scripts":{"start":"x"}}"#,
        ),
    ]);
    let p = propose(&src, "Shop");
    assert_eq!(p.project, "shop");
    let yaml = check(
        &p,
        &[
            Want {
                name: "admin",
                paths: &["apps/admin/**"],
                depends_on: &["tokens", "ui-kit", "utils"],
                port: Some(8080),
                health: None,
                context: Some("apps/admin"),
            },
            Want {
                name: "web",
                paths: &["apps/web/**"],
                depends_on: &["tokens", "ui-kit"],
                port: Some(3001),
                health: None,
                context: Some("apps/web"),
            },
        ],
        &["tokens", "ui-kit", "utils"],
    );
    assert_eq!(p.shared_inputs, ["package.json", "pnpm-lock.yaml"]);
    assert_eq!(p.ignore_inputs, ["**/*.md", "docs/**"]);
    assert_eq!(
        service(&p, "admin").build.as_ref().unwrap().dockerfile,
        "apps/admin/Containerfile"
    );
    assert!(
        p.notes
            .iter()
            .any(|n| n.starts_with("packages/unused/package.json")),
        "{:?}",
        p.notes
    );
    assert!(
        yaml.contains("  ui-kit: { paths: [\"packages/ui-kit/**\"] }\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("    depends_on: [tokens, ui-kit]\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("# Port: the `start` script in apps/web/package.json"),
        "{yaml}"
    );
    assert!(
        yaml.contains("# TODO: point this at your GitOps repository"),
        "{yaml}"
    );
    assert!(yaml.contains(
        "gitops: { repo: \"git@github.com:example/shop-gitops.git\", branch: main, path: lanes/dev }"
    ));
}

#[test]
fn npm_app_without_dockerfile_is_proposed_with_a_todo() {
    let src = repo(&[
        (
            "package.json",
            r#"{"name":"site","scripts":{"start":"next start"},"dependencies":{"next":"14"}}"#,
        ),
        ("package-lock.json", "{}"),
    ]);
    let p = propose(&src, "site");
    let yaml = check(
        &p,
        &[Want {
            name: "site",
            paths: &["**"],
            depends_on: &[],
            port: Some(3000),
            health: None,
            context: None,
        }],
        &[],
    );
    assert!(yaml.contains("# TODO: no Dockerfile yet"), "{yaml}");
    assert_eq!(p.shared_inputs, ["package-lock.json"]);
}

#[test]
fn python_services_with_expose_healthcheck_and_local_library() {
    let src = repo(&[
        // A uv workspace: the root lockfile pins every member's dependencies.
        (
            "pyproject.toml",
            "[tool.uv.workspace]\nmembers = [\"services/*\", \"libs/*\"]\n",
        ),
        ("uv.lock", ""),
        (
            "services/api/pyproject.toml",
            "[project]\nname = \"api\"\ndependencies = [\n  \"fastapi>=0.110\",\n  \"py-common\",\n]\n\n[tool.uv.sources]\npy-common = { path = \"../../libs/py-common\" }\n",
        ),
        (
            "services/api/Dockerfile",
            "FROM python:3.12-slim\nCOPY . /app\nEXPOSE 8000\nHEALTHCHECK CMD curl -fsS http://localhost:8000/healthz || exit 1\nCMD [\"uvicorn\", \"app:app\", \"--host\", \"0.0.0.0\"]\n",
        ),
        (
            "services/worker/requirements.txt",
            "celery==5\n-e ../../libs/py-common\n",
        ),
        (
            "services/worker/Dockerfile",
            "FROM python:3.12\nCMD gunicorn -b 0.0.0.0:9000 worker:app\n",
        ),
        (
            "libs/py-common/pyproject.toml",
            "[project]\nname = \"py_common\"\n",
        ),
        ("docs/index.md", "docs"),
    ]);
    let p = propose(&src, "miker");
    check(
        &p,
        &[
            Want {
                name: "api",
                paths: &["services/api/**"],
                depends_on: &["py-common"],
                port: Some(8000),
                health: Some("/healthz"),
                context: Some("services/api"),
            },
            Want {
                name: "worker",
                paths: &["services/worker/**"],
                depends_on: &["py-common"],
                port: Some(9000),
                health: None,
                context: Some("services/worker"),
            },
        ],
        &["py-common"],
    );
    assert_eq!(p.shared_inputs, ["pyproject.toml", "uv.lock"]);
}

#[test]
fn spring_maven_modules_with_server_port_and_actuator() {
    let spring_app = |artifact: &str, extra: &str| {
        format!(
            "<project><parent><artifactId>spring-boot-starter-parent</artifactId></parent>\
             <artifactId>{artifact}</artifactId>\
             <dependencies><dependency><artifactId>spring-boot-starter-web</artifactId></dependency>{extra}</dependencies>\
             <build><plugins><plugin><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build></project>"
        )
    };
    let gateway = spring_app(
        "gateway",
        "<dependency><artifactId>spring-boot-starter-actuator</artifactId></dependency>\
         <dependency><artifactId>common</artifactId></dependency>",
    );
    let billing = spring_app("billing", "");
    let src = repo(&[
        (
            "pom.xml",
            "<project><artifactId>root</artifactId><packaging>pom</packaging><modules><module>gateway</module><module>common</module><module>billing</module></modules></project>",
        ),
        ("gateway/pom.xml", &gateway),
        (
            "gateway/src/main/resources/application.yml",
            "spring:\n  application:\n    name: gateway\nserver:\n  port: 12000\n",
        ),
        (
            "gateway/Dockerfile",
            "FROM eclipse-temurin:21\nCOPY target/app.jar /app.jar\nENTRYPOINT [\"java\", \"-jar\", \"/app.jar\"]\n",
        ),
        (
            "common/pom.xml",
            "<project><artifactId>common</artifactId></project>",
        ),
        ("billing/pom.xml", &billing),
        (
            "billing/src/main/resources/application.properties",
            "server.port=${PORT:8085}\n",
        ),
    ]);
    let p = propose(&src, "bank");
    let yaml = check(
        &p,
        &[
            Want {
                name: "billing",
                paths: &["billing/**"],
                depends_on: &[],
                port: Some(8085),
                health: None,
                context: None,
            },
            Want {
                name: "gateway",
                paths: &["gateway/**"],
                depends_on: &["common"],
                port: Some(12000),
                health: Some("/actuator/health"),
                context: Some("gateway"),
            },
        ],
        &["common"],
    );
    assert_eq!(p.shared_inputs, ["pom.xml"]);
    assert!(
        yaml.contains("health: { path: /actuator/health }"),
        "{yaml}"
    );
}

#[test]
fn go_module_with_dockerfile_copying_from_the_root() {
    let src = repo(&[
        ("go.mod", "module example.com/tool\n\ngo 1.22\n"),
        ("go.sum", ""),
        ("internal/db/db.go", "package db\n"),
        ("cmd/api/main.go", "package main\n"),
        (
            "cmd/api/Dockerfile",
            "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nCOPY internal/ internal/\nCOPY cmd/api cmd/api\nRUN go build -o /api ./cmd/api\nFROM gcr.io/distroless/static\nCOPY --from=build /api /api\nEXPOSE 9090\n",
        ),
    ]);
    let p = propose(&src, "tool");
    check(
        &p,
        &[Want {
            name: "api",
            paths: &["cmd/api/**", "go.mod", "go.sum", "internal/**"],
            depends_on: &[],
            port: Some(9090),
            health: None,
            context: Some("."),
        }],
        &[],
    );
    assert_eq!(p.shared_inputs, ["go.sum"]);
}

#[test]
fn go_main_without_dockerfile_and_replaced_library() {
    let src = repo(&[
        (
            "services/billing/go.mod",
            "module example.com/shop/billing\n\nrequire example.com/shop/money v0.0.0\n\nreplace example.com/shop/money => ../../libs/money\n",
        ),
        (
            "services/billing/main.go",
            "package main\n\nfunc main() {}\n",
        ),
        ("libs/money/go.mod", "module example.com/shop/money\n"),
        ("libs/money/money.go", "package money\n"),
    ]);
    let p = propose(&src, "shop");
    let yaml = check(
        &p,
        &[Want {
            name: "billing",
            paths: &["services/billing/**"],
            depends_on: &["money"],
            port: None,
            health: None,
            context: None,
        }],
        &["money"],
    );
    assert!(yaml.contains("# No port found"), "{yaml}");
}

#[test]
fn cargo_workspace_members_become_libraries() {
    let src = repo(&[
        (
            "Cargo.toml",
            "[workspace]\nresolver = \"2\"\nmembers = [\n  \"crates/*\",\n]\n\n[workspace.dependencies]\ncore = { path = \"crates/core\" }\n",
        ),
        ("Cargo.lock", ""),
        (
            "crates/server/Cargo.toml",
            "[package]\nname = \"server\"\n\n[dependencies]\ncore.workspace = true\n\n[dev-dependencies]\ncli = { path = \"../cli\" }\n",
        ),
        (
            "crates/server/Dockerfile",
            "FROM rust:1.95 AS build\nCOPY Cargo.toml Cargo.lock ./\nCOPY crates crates\nRUN cargo build --release -p server\nFROM debian:stable-slim\nENV PORT=7000\n",
        ),
        ("crates/core/Cargo.toml", "[package]\nname = \"core\"\n"),
        (
            "crates/cli/Cargo.toml",
            "[package]\nname = \"cli\"\n[dependencies]\ncore = { path = \"../core\" }\n",
        ),
        ("target/debug/Dockerfile", "FROM x\n"),
    ]);
    let p = propose(&src, "rusty");
    check(
        &p,
        &[Want {
            name: "server",
            paths: &["Cargo.lock", "Cargo.toml", "crates/**", "crates/server/**"],
            depends_on: &["core"],
            port: Some(7000),
            health: None,
            context: Some("."),
        }],
        &["cli", "core"],
    );
    assert_eq!(p.shared_inputs, ["Cargo.lock", "Cargo.toml"]);
}

#[test]
fn helm_chart_and_root_dockerfile() {
    let src = repo(&[
        ("Dockerfile", "FROM python:3.12\nCOPY . .\nEXPOSE 5000\n"),
        ("app.py", "print()\n"),
        (
            "deploy/chart/Chart.yaml",
            "apiVersion: v2\nname: shop-chart\nversion: 0.1.0\n",
        ),
        ("deploy/chart/values.yaml", "image: {}\n"),
    ]);
    let p = propose(&src, "shop");
    let yaml = check(
        &p,
        &[Want {
            name: "shop",
            paths: &["**"],
            depends_on: &[],
            port: Some(5000),
            health: None,
            context: Some("."),
        }],
        &[],
    );
    assert_eq!(p.charts.len(), 1);
    assert_eq!(p.charts[0].dir, "deploy/chart");
    assert_eq!(p.charts[0].name.as_deref(), Some("shop-chart"));
    assert!(
        yaml.contains("# Helm charts in this repository: deploy/chart (shop-chart)."),
        "{yaml}"
    );
    assert!(yaml.contains("helm-values"), "{yaml}");
    assert!(
        yaml.contains("build: { context: \".\", dockerfile: Dockerfile }"),
        "{yaml}"
    );
}

#[test]
fn nothing_found_still_passes_check() {
    let src = repo(&[
        ("README.md", "# hello\n"),
        ("docs/guide.md", "guide\n"),
        ("tests/fixtures/Dockerfile", "FROM scratch\n"),
        ("lib/pyproject.toml", "[project]\nname = \"lib\"\n"),
    ]);
    let p = propose(&src, "");
    assert_eq!(p.project, "app");
    let yaml = check(&p, &[], &[]);
    assert!(yaml.contains("services: {}\n"), "{yaml}");
    assert!(yaml.contains("# No deployable was found"), "{yaml}");
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("tests/fixtures/Dockerfile")),
        "{:?}",
        p.notes
    );
    assert!(
        p.notes.iter().any(|n| n.contains("lib/pyproject.toml")),
        "{:?}",
        p.notes
    );

    let empty = propose(&MemorySource::new(), "empty");
    check(&empty, &[], &[]);
}

#[test]
fn colliding_and_awkward_directory_names() {
    let src = repo(&[
        ("apps/api/Dockerfile", "FROM x\nEXPOSE 80\n"),
        ("services/api/Dockerfile", "FROM x\nEXPOSE 81\n"),
        ("services/My_App v2/Dockerfile", "FROM x\n"),
        ("services/123/Dockerfile", "FROM x\n"),
        ("services/yes/Dockerfile", "FROM x\n"),
        ("services/a{b}/Dockerfile", "FROM x\n"),
        ("docs/site/Dockerfile", "FROM nginx\nEXPOSE 8080\n"),
        ("services/api/Dockerfile.dev", "FROM x\n"),
    ]);
    let p = propose(&src, "Ünïcode Project");
    assert_eq!(p.project, "n-code-project");
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "123",
            "apps-api",
            "my-app-v2",
            "services-api",
            "site",
            "yes"
        ]
    );
    // A deployed docs site must not be ignored.
    assert_eq!(p.ignore_inputs, ["**/*.md"]);
    assert!(p.notes.iter().any(|n| n.contains("a{b}")), "{:?}", p.notes);
    let yaml = assert_valid(&p);
    assert!(yaml.contains("  \"123\":\n"), "{yaml}");
    assert!(yaml.contains("  \"yes\":\n"), "{yaml}");
    assert!(
        yaml.contains("paths: [\"services/My_App v2/**\"]"),
        "{yaml}"
    );
}

#[test]
fn rendering_is_deterministic() {
    let files = [
        ("package.json", r#"{"workspaces":["apps/*","packages/*"]}"#),
        ("yarn.lock", ""),
        ("apps/b/Dockerfile", "FROM x\nEXPOSE 2\n"),
        (
            "apps/b/package.json",
            r#"{"name":"b","dependencies":{"lib":"*"}}"#,
        ),
        ("apps/a/Dockerfile", "FROM x\nEXPOSE 1\n"),
        (
            "apps/a/package.json",
            r#"{"name":"a","dependencies":{"lib":"*","b":"*"}}"#,
        ),
        ("packages/lib/package.json", r#"{"name":"lib"}"#),
    ];
    let forward: MemorySource = files.iter().copied().collect();
    let backward: MemorySource = files.iter().rev().copied().collect();
    let one = render_yaml(&propose(&forward, "p"));
    let two = render_yaml(&propose(&backward, "p"));
    assert_eq!(one, two);
    assert_eq!(one, render_yaml(&propose(&forward, "p")));
    // A service may depend on another service.
    let p = propose(&forward, "p");
    assert_eq!(service(&p, "a").depends_on, ["b", "lib"]);
    assert_valid(&p);
}

/// The layout of GoogleCloudPlatform/microservices-demo (paths and the Dockerfile lines that
/// matter, not its code): eleven services in `src/<name>/`, and cartservice one level deeper in
/// `src/cartservice/src/` next to a `Dockerfile.debug`, with its tests beside it.
#[test]
fn microservices_demo_layout_names_every_service_after_its_directory() {
    let go = "FROM golang:1 AS builder\nCOPY go.mod go.sum ./\nCOPY . .\nFROM gcr.io/distroless/static\nCOPY --from=builder /x /src/server\n";
    let py = "FROM python:3 AS base\nFROM base AS builder\nCOPY requirements.txt .\nFROM base\nCOPY . .\n";
    let node = "FROM node:20 AS builder\nCOPY package*.json ./\nFROM alpine:3\nCOPY --from=builder /usr/src/app/node_modules ./node_modules\nCOPY . .\n";
    let with = |base: &str, extra: &str| format!("{base}{extra}");
    let files: Vec<(String, String)> = vec![
        ("src/adservice/Dockerfile".into(), "FROM eclipse-temurin AS builder\nCOPY [\"build.gradle\", \"gradlew\", \"./\"]\nCOPY gradle gradle\nCOPY . .\nFROM eclipse-temurin\nCOPY --from=builder /app .\nEXPOSE 9555\n".into()),
        ("src/adservice/build.gradle".into(), "plugins { id 'java' }\n".into()),
        ("src/adservice/gradlew".into(), String::new()),
        ("src/adservice/gradle/wrapper/gradle-wrapper.properties".into(), String::new()),
        ("src/cartservice/cartservice.sln".into(), String::new()),
        ("src/cartservice/src/Dockerfile".into(), "FROM mcr.microsoft.com/dotnet/sdk AS builder\nCOPY cartservice.csproj .\nCOPY . .\nFROM mcr.microsoft.com/dotnet/runtime-deps\nCOPY --from=builder /cartservice .\nEXPOSE 7070\n".into()),
        ("src/cartservice/src/Dockerfile.debug".into(), "FROM mcr.microsoft.com/dotnet/sdk AS build\nCOPY . .\n".into()),
        ("src/cartservice/src/cartservice.csproj".into(), "<Project/>\n".into()),
        ("src/cartservice/tests/cartservice.tests.csproj".into(), "<Project/>\n".into()),
        ("src/checkoutservice/Dockerfile".into(), with(go, "EXPOSE 5050\n")),
        ("src/checkoutservice/go.mod".into(), "module checkoutservice\n".into()),
        ("src/checkoutservice/go.sum".into(), String::new()),
        ("src/currencyservice/Dockerfile".into(), with(node, "EXPOSE 7000\n")),
        ("src/currencyservice/package.json".into(), r#"{"name":"grpc-currency-service"}"#.into()),
        ("src/currencyservice/package-lock.json".into(), "{}".into()),
        ("src/emailservice/Dockerfile".into(), with(py, "EXPOSE 8080\n")),
        ("src/emailservice/requirements.txt".into(), "grpcio\n".into()),
        ("src/frontend/Dockerfile".into(), with(go, "COPY ./templates ./templates\nCOPY ./static ./static\nEXPOSE 8080\n")),
        ("src/frontend/go.mod".into(), "module frontend\n".into()),
        ("src/frontend/go.sum".into(), String::new()),
        ("src/frontend/templates/home.html".into(), String::new()),
        ("src/frontend/static/styles.css".into(), String::new()),
        ("src/loadgenerator/Dockerfile".into(), "FROM python:3 AS base\nFROM base AS builder\nCOPY requirements.txt .\nFROM base\nCOPY locustfile.py .\nENTRYPOINT locust --host=\"http://${FRONTEND_ADDR}\" --headless\n".into()),
        ("src/loadgenerator/requirements.txt".into(), "locust\n".into()),
        ("src/loadgenerator/locustfile.py".into(), String::new()),
        ("src/paymentservice/Dockerfile".into(), with(node, "EXPOSE 50051\n")),
        ("src/paymentservice/package.json".into(), r#"{"name":"paymentservice"}"#.into()),
        ("src/productcatalogservice/Dockerfile".into(), with(go, "COPY products.json .\nEXPOSE 3550\n")),
        ("src/productcatalogservice/go.mod".into(), "module productcatalogservice\n".into()),
        ("src/productcatalogservice/products.json".into(), "{}".into()),
        ("src/recommendationservice/Dockerfile".into(), with(py, "ENV PORT=\"8080\"\nEXPOSE 8080\n")),
        ("src/recommendationservice/requirements.txt".into(), "grpcio\n".into()),
        ("src/shippingservice/Dockerfile".into(), with(go, "ENV APP_PORT=50051\nEXPOSE 50051\n")),
        ("src/shippingservice/go.mod".into(), "module shippingservice\n".into()),
        ("src/shoppingassistantservice/Dockerfile".into(), with(py, "ENV PORT=\"8080\"\nEXPOSE 8080\n")),
        ("src/shoppingassistantservice/requirements.txt".into(), "flask\n".into()),
        ("helm-chart/Chart.yaml".into(), "apiVersion: v2\nname: onlineboutique\n".into()),
        ("kubernetes-manifests/cartservice.yaml".into(), "kind: Deployment\n".into()),
        ("skaffold.yaml".into(), "apiVersion: skaffold/v4beta1\n".into()),
    ];
    let src: MemorySource = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let p = propose(&src, "microservices-demo");
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "adservice",
            "cartservice",
            "checkoutservice",
            "currencyservice",
            "emailservice",
            "frontend",
            "loadgenerator",
            "paymentservice",
            "productcatalogservice",
            "recommendationservice",
            "shippingservice",
            "shoppingassistantservice",
        ]
    );
    let cart = service(&p, "cartservice");
    let build = cart.build.as_ref().unwrap();
    assert_eq!(build.context, "src/cartservice/src");
    assert_eq!(build.dockerfile, "src/cartservice/src/Dockerfile");
    assert_eq!(cart.paths, ["src/cartservice/src/**"]);
    assert_eq!(cart.port.as_ref().map(|d| d.value), Some(7070));
    assert_eq!(
        service(&p, "frontend").build.as_ref().unwrap().context,
        "src/frontend"
    );
    assert!(p.shared_inputs.is_empty(), "{:?}", p.shared_inputs);
    assert_valid(&p);
}

#[test]
fn a_dockerfile_under_src_names_the_service_after_its_parent() {
    let src = repo(&[
        (
            "services/api/src/Dockerfile",
            "FROM x\nCOPY . .\nEXPOSE 80\n",
        ),
        ("services/web/docker/Dockerfile", "FROM x\nEXPOSE 81\n"),
        ("apps/billing/app/Dockerfile", "FROM x\n"),
        ("deploy/Dockerfile", "FROM x\n"),
    ]);
    let p = propose(&src, "shop");
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    // `deploy/` says nothing about what it holds, so it is the project's own image.
    assert_eq!(names, ["api", "billing", "shop", "web"]);
    assert_eq!(service(&p, "shop").dir, "deploy");
    assert_valid(&p);
}

#[test]
fn copy_from_a_leading_slash_resolves_in_the_build_context() {
    let src = repo(&[
        ("go.mod", "module example.com/tool\n"),
        ("go.sum", ""),
        ("internal/db/db.go", "package db\n"),
        ("cmd/api/main.go", "package main\n"),
        (
            "docker/api/Dockerfile",
            "FROM golang AS build\nCOPY /go.mod /go.sum ./\nCOPY [\"/internal\", \"/src/internal\"]\nCOPY --chown=app:app [\"/cmd/api\", \"/src/cmd/api\"]\nFROM scratch\nCOPY --from=build /api /api\nEXPOSE 9090\n",
        ),
    ]);
    let p = propose(&src, "tool");
    check(
        &p,
        &[Want {
            name: "api",
            paths: &[
                "cmd/api/**",
                "docker/api/**",
                "go.mod",
                "go.sum",
                "internal/**",
            ],
            depends_on: &[],
            port: Some(9090),
            health: None,
            context: Some("."),
        }],
        &[],
    );
}

#[test]
fn a_build_only_dockerfile_nested_under_a_service_is_not_proposed() {
    let src = repo(&[
        ("services/api/Dockerfile", "FROM x\nCOPY . .\nEXPOSE 8080\n"),
        ("services/api/migrations/Dockerfile", "FROM flyway\n"),
        ("services/api/tools/lint/Dockerfile", "FROM x\n"),
        ("services/web/Dockerfile", "FROM x\nEXPOSE 3000\n"),
    ]);
    let p = propose(&src, "shop");
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["api", "web"]);
    for nested in [
        "services/api/migrations/Dockerfile",
        "services/api/tools/lint/Dockerfile",
    ] {
        assert!(
            p.notes
                .iter()
                .any(|n| n.starts_with(nested) && n.contains("build-only")),
            "{nested}: {:?}",
            p.notes
        );
    }
    assert_valid(&p);
}

#[test]
fn an_unreferenced_dockerfile_variant_is_not_proposed() {
    let src = repo(&[
        ("tools/ci.Dockerfile", "FROM x\n"),
        ("services/web/Dockerfile.prod", "FROM x\nEXPOSE 80\n"),
        ("services/api/Dockerfile", "FROM x\nEXPOSE 8080\n"),
        ("services/api/Dockerfile.dev", "FROM x\n"),
    ]);
    let p = propose(&src, "shop");
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["api"]);
    for variant in ["tools/ci.Dockerfile", "services/web/Dockerfile.prod"] {
        assert!(
            p.notes.iter().any(|n| n.starts_with(variant)),
            "{variant}: {:?}",
            p.notes
        );
    }
    assert_valid(&p);
}

#[test]
fn a_root_lockfile_of_another_ecosystem_is_not_a_shared_input() {
    let src = repo(&[
        // Tooling at the root (commit hooks), not a workspace of the services.
        (
            "package.json",
            r#"{"name":"repo-tools","private":true,"devDependencies":{"husky":"9"}}"#,
        ),
        ("package-lock.json", "{}"),
        ("poetry.lock", ""),
        ("services/api/go.mod", "module example.com/api\n"),
        ("services/api/go.sum", ""),
        ("services/api/main.go", "package main\n"),
        (
            "services/api/Dockerfile",
            "FROM golang\nCOPY . .\nEXPOSE 8080\n",
        ),
        (
            "services/web/package.json",
            r#"{"name":"web","scripts":{"start":"node server.js"}}"#,
        ),
        ("services/web/package-lock.json", "{}"),
        (
            "services/web/Dockerfile",
            "FROM node\nCOPY . .\nEXPOSE 3000\n",
        ),
    ]);
    let p = propose(&src, "shop");
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["api", "web"]);
    assert!(p.shared_inputs.is_empty(), "{:?}", p.shared_inputs);
    let yaml = assert_valid(&p);
    assert!(!yaml.contains("shared:"), "{yaml}");
}

/// A Compose file with a `.env`: build contexts and Dockerfiles as written, the container side
/// of port mappings, health checks, settings; pure images only mentioned.
fn compose_repo() -> MemorySource {
    repo(&[
        (
            "docker-compose.yml",
            r#"
services:
  api:
    build:
      context: ./services/api
      dockerfile: Dockerfile.prod
      target: runtime
      args:
        GO_VERSION: "${GO_VERSION:-1.22}"
        NPM_TOKEN: ${NPM_TOKEN}
    ports:
      - "${API_PORT:-8080}:80"
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost/health"]
    environment:
      LOG_LEVEL: ${LOG_LEVEL:-info}
      DB_PASSWORD: hunter2
      DATABASE_URL: postgres://app:${PG_PASSWORD}@db/app
      STRIPE_PUBLISHABLE: sk_live_0123456789abcdef
      REGION:
  gateway:
    build:
      context: .
      dockerfile: docker/Dockerfile
    ports:
      - target: 8443
        published: 443
    healthcheck:
      test: curl -fsS http://localhost:9901/ready || exit 1
    environment:
      - UPSTREAM=http://api:80
      - FEATURE_FLAGS={"beta":true}
  worker:
    build: ./services/worker
    ports: ["9000"]
  db:
    image: postgres:16
  redis:
    image: redis:7
"#,
        ),
        (".env", "LOG_LEVEL=debug\nPG_PASSWORD=s3cret-from-dotenv\n"),
        (
            "services/api/Dockerfile.prod",
            "FROM golang AS build\nCOPY . .\nFROM scratch AS runtime\nEXPOSE 8080\n",
        ),
        ("services/api/main.go", "package main\n"),
        (
            "services/worker/Dockerfile",
            "FROM python\nCOPY /worker.py /app/\n",
        ),
        ("services/worker/worker.py", ""),
        (
            "docker/Dockerfile",
            "FROM envoyproxy/envoy\nCOPY /docker/envoy.yaml /etc/envoy/\n",
        ),
        ("docker/envoy.yaml", ""),
    ])
}

#[test]
fn compose_services_are_proposed_with_their_build_context_and_container_port() {
    let p = propose(&compose_repo(), "shop");
    let yaml = check(
        &p,
        &[
            Want {
                name: "api",
                paths: &["services/api/**"],
                depends_on: &[],
                port: Some(80),
                health: Some("/health"),
                context: Some("services/api"),
            },
            Want {
                name: "gateway",
                paths: &["docker/**"],
                depends_on: &[],
                port: Some(8443),
                health: Some("/ready"),
                context: Some("."),
            },
            Want {
                name: "worker",
                paths: &["services/worker/**"],
                depends_on: &[],
                port: Some(9000),
                health: None,
                context: Some("services/worker"),
            },
        ],
        &[],
    );
    let api = service(&p, "api").build.as_ref().unwrap();
    // A `Dockerfile.*` variant is legitimate when Compose builds it.
    assert_eq!(api.dockerfile, "services/api/Dockerfile.prod");
    assert_eq!(api.target.as_deref(), Some("runtime"));
    assert_eq!(api.args, [("GO_VERSION".to_owned(), "1.22".to_owned())]);
    assert!(
        yaml.contains("target: runtime, args: { GO_VERSION: \"1.22\" } }"),
        "{yaml}"
    );
    // The health check answers on another port than the service's.
    let gateway = service(&p, "gateway").health.as_ref().unwrap();
    assert_eq!(gateway.value.port, Some(9901));
    assert!(
        yaml.contains("health: { path: /ready, port: 9901 }"),
        "{yaml}"
    );
    // `.env` substitution.
    assert!(yaml.contains("LOG_LEVEL: \"debug\""), "{yaml}");
    assert!(yaml.contains("UPSTREAM: \"http://api:80\""), "{yaml}");
}

#[test]
fn compose_secrets_are_never_proposed_as_literals() {
    let p = propose(&compose_repo(), "shop");
    let yaml = assert_valid(&p);
    for leaked in ["hunter2", "s3cret-from-dotenv", "sk_live_"] {
        assert!(!yaml.contains(leaked), "{leaked} in\n{yaml}");
    }
    // A build argument that looks like a credential is named in a comment, never passed.
    assert!(
        yaml.contains("build args not proposed (credentials or set from the shell): NPM_TOKEN"),
        "{yaml}"
    );
    assert!(!yaml.contains("NPM_TOKEN:"), "{yaml}");
    assert!(
        yaml.contains("DB_PASSWORD: { secret: api, key: DB_PASSWORD }"),
        "{yaml}"
    );
    assert!(
        yaml.contains("DATABASE_URL: { secret: api, key: DATABASE_URL }"),
        "{yaml}"
    );
    assert!(
        yaml.contains("STRIPE_PUBLISHABLE: { secret: api, key: STRIPE_PUBLISHABLE }"),
        "{yaml}"
    );
    assert!(
        yaml.contains("# TODO: these look like credentials"),
        "{yaml}"
    );
    // Neither a value from the shell nor one the intent would read as a template.
    assert!(yaml.contains("# REGION: not proposed"), "{yaml}");
    assert!(yaml.contains("# FEATURE_FLAGS: not proposed"), "{yaml}");
}

#[test]
fn compose_image_only_services_are_mentioned_not_proposed() {
    let p = propose(&compose_repo(), "shop");
    assert!(
        p.services
            .iter()
            .all(|s| s.name != "redis" && s.name != "db")
    );
    let yaml = assert_valid(&p);
    assert!(
        yaml.contains("#   docker-compose.yml: `redis` runs the image redis:7"),
        "{yaml}"
    );
    assert!(yaml.contains("`db` runs the image postgres:16"), "{yaml}");
}

#[test]
fn a_compose_dockerfile_in_a_generic_folder_is_named_after_its_compose_service() {
    let p = propose(&compose_repo(), "shop");
    let gateway = service(&p, "gateway");
    assert_eq!(gateway.dir, "docker");
    assert_eq!(
        gateway.build.as_ref().unwrap().dockerfile,
        "docker/Dockerfile"
    );
}

#[test]
fn an_unreadable_compose_file_is_noted_and_the_scan_goes_on() {
    let src = repo(&[
        ("compose.yaml", "services:\n  api: [\n"),
        ("api/Dockerfile", "FROM x\nEXPOSE 80\n"),
    ]);
    let p = propose(&src, "shop");
    assert_eq!(p.services.len(), 1);
    assert!(
        p.notes
            .iter()
            .any(|n| n.starts_with("compose.yaml:") && n.contains("not read")),
        "{:?}",
        p.notes
    );
    assert_valid(&p);
}
