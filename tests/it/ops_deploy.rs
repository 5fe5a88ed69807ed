//! deploy/: the invariants a container deployment of pinbridge relies on, read from the files
//! themselves (YAML parsed, Dockerfile scanned). `deploy/lint.sh` runs yamllint on top.

use std::path::Path;

use serde_yaml_ng::Value;

fn deploy(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy")
            .join(path),
    )
    .unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml_ng::from_str(&deploy(path)).unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

#[test]
fn the_deployment_runs_one_non_root_pod_with_probes_and_its_volume() {
    let d = yaml("k8s/deployment.yaml");
    assert_eq!(d["kind"], "Deployment");
    assert_eq!(d["spec"]["replicas"], 1, "sled is single-writer");
    assert_eq!(d["spec"]["strategy"]["type"], "Recreate");
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > 20);
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(c["resources"]["requests"]["memory"].is_string());
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/data");
    let claim = &pod["volumes"][0]["persistentVolumeClaim"]["claimName"];
    let pvc = yaml("k8s/pvc.yaml");
    assert_eq!(pvc["kind"], "PersistentVolumeClaim");
    assert_eq!(&pvc["metadata"]["name"], claim);
    assert_eq!(pvc["spec"]["accessModes"][0], "ReadWriteOnce");

    // Config and secrets come in as environment, from the ConfigMap and Secret named here.
    let sources: Vec<&str> = c["envFrom"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["configMapRef"]["name"]
                .as_str()
                .or(e["secretRef"]["name"].as_str())
        })
        .collect();
    assert_eq!(sources, ["pinbridge", "pinbridge"]);
    let config = yaml("k8s/configmap.yaml");
    assert_eq!(config["kind"], "ConfigMap");
    let data = config["data"].as_mapping().unwrap();
    assert_eq!(
        config["data"]["PINBRIDGE_STORE__PATH"].as_str().unwrap(),
        "/data/pinbridge.sled",
        "the store lives on the volume"
    );
    // No secret in the ConfigMap.
    for (key, _) in data {
        let key = key.as_str().unwrap();
        assert!(
            !key.contains("TOKEN") && !key.contains("SECRET"),
            "{key} belongs in the Secret"
        );
    }
    let secret = yaml("k8s/secret.yaml");
    assert_eq!(secret["kind"], "Secret");
    assert!(secret["stringData"]["PINBRIDGE_SERVER__ADMIN_TOKEN"].is_string());
    assert!(secret["stringData"]["PINBRIDGE_TOKEN_KEY"].is_string());
}

/// The private surface stays off the public port: probes use only `/healthz` and `/readyz` on
/// the public port, the Service exposes only that port, metrics are scraped from the admin
/// listener, the NetworkPolicy admits the admin port only from one namespace, and the Secret's
/// admin-token placeholder is too short for pinbridge to start with.
fn check_public_and_admin_ports(dir: &str) {
    let d = yaml(&format!("{dir}deployment.yaml"));
    let pod = &d["spec"]["template"];
    let c = &pod["spec"]["containers"][0];
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let get = &c[probe]["httpGet"];
        if get.is_null() {
            continue;
        }
        assert_eq!(get["port"], "http", "{dir}: {probe} on the public port");
        let path = get["path"].as_str().unwrap();
        assert!(
            matches!(path, "/healthz" | "/readyz"),
            "{dir}: {probe} {path}"
        );
    }
    let port = |name: &str| {
        c["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("{dir}: no `{name}` port"))
    };
    let admin = port("admin");
    assert_ne!(admin, port("http"));
    assert_eq!(
        pod["metadata"]["annotations"]["prometheus.io/port"],
        admin.to_string(),
        "{dir}: metrics come from the admin listener"
    );
    let config = yaml(&format!("{dir}configmap.yaml"));
    let listen = config["data"]["PINBRIDGE_SERVER__ADMIN_LISTEN"]
        .as_str()
        .unwrap_or_else(|| panic!("{dir}: no admin listener configured"));
    assert!(listen.ends_with(&format!(":{admin}")), "{dir}: {listen}");
    let service = yaml(&format!("{dir}service.yaml"));
    let targets: Vec<&str> = service["spec"]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p["targetPort"].as_str())
        .collect();
    assert_eq!(
        targets,
        ["http"],
        "{dir}: the Service exposes only the public port"
    );
    let policy = yaml(&format!("{dir}networkpolicy.yaml"));
    assert_eq!(policy["kind"], "NetworkPolicy");
    for rule in policy["spec"]["ingress"].as_sequence().unwrap() {
        let admits_admin = rule["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|p| p["port"] == "admin");
        if admits_admin {
            assert!(
                rule["from"].is_sequence(),
                "{dir}: the admin port from anywhere"
            );
        }
    }
    let secret = yaml(&format!("{dir}secret.yaml"));
    let token = secret["stringData"]["PINBRIDGE_SERVER__ADMIN_TOKEN"]
        .as_str()
        .unwrap();
    assert!(
        token.len() < pinbridge::config::MIN_ADMIN_TOKEN_LEN,
        "{dir}: a placeholder pinbridge would accept is a published token: {token}"
    );
}

#[test]
fn kubernetes_keeps_the_admin_surface_off_the_public_port() {
    check_public_and_admin_ports("k8s/");
    check_public_and_admin_ports("k8s/postgres/");
}

#[test]
fn compose_publishes_the_admin_port_on_loopback_only() {
    for file in ["compose.yaml", "compose.postgres.yaml"] {
        let c = yaml(file);
        let s = &c["services"]["pinbridge"];
        assert!(
            s["environment"]["PINBRIDGE_SERVER__ADMIN_LISTEN"].is_string(),
            "{file}"
        );
        let ports: Vec<&str> = s["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .collect();
        let admin: Vec<_> = ports.iter().filter(|p| p.ends_with(":9090")).collect();
        assert_eq!(admin.len(), 1, "{file}: {ports:?}");
        assert!(admin[0].starts_with("127.0.0.1:"), "{file}: {ports:?}");
        // The image's own check of /healthz on the configured listen address (no curl in
        // the image, no port written here that a changed listen address would contradict).
        let test: Vec<&str> = s["healthcheck"]["test"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|a| a.as_str())
            .collect();
        assert_eq!(
            test,
            ["CMD", "/usr/local/bin/pinbridge", "healthcheck"],
            "{file}"
        );
    }
}

#[test]
fn the_prometheus_example_scrapes_the_admin_port_or_sends_the_token() {
    let p = yaml("prometheus.yaml");
    let jobs = p["scrape_configs"].as_sequence().unwrap();
    assert!(
        jobs.iter().all(|job| {
            let target = job["static_configs"][0]["targets"][0].as_str().unwrap();
            target.ends_with(":9090") || job["authorization"]["type"] == "Bearer"
        }),
        "{jobs:?}"
    );
}

#[test]
fn compose_runs_read_only_with_one_data_volume() {
    let c = yaml("compose.yaml");
    let s = &c["services"]["pinbridge"];
    assert_eq!(s["read_only"], true);
    assert_eq!(s["volumes"].as_sequence().unwrap().len(), 1);
    assert!(s["volumes"][0].as_str().unwrap().ends_with(":/data"));
    assert_eq!(
        s["environment"]["PINBRIDGE_STORE__PATH"],
        "/data/pinbridge.sled"
    );
    assert!(s["healthcheck"]["test"].is_sequence());
    assert!(
        c["volumes"]["pinbridge-data"].is_null() || c["volumes"]["pinbridge-data"].is_mapping()
    );
}

#[test]
fn the_dockerfile_is_multi_stage_non_root_with_a_volume_and_healthcheck() {
    let text = deploy("Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert!(lines.iter().filter(|l| l.starts_with("FROM ")).count() >= 2);
    let user = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("a USER");
    assert!(!user.contains("root") && !user.ends_with(" 0") && !user.contains(" 0:"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("VOLUME") && l.contains("/data"))
    );
    assert!(lines.iter().any(|l| l.starts_with("HEALTHCHECK")));
    assert!(text.contains("/healthz"));
    assert!(lines.iter().any(|l| l.starts_with("STOPSIGNAL SIGTERM")));
}

// ---- PostgreSQL variants: several replicas share one database, so no sled volume. ----

#[test]
fn the_postgres_deployment_runs_three_interchangeable_pods_without_a_volume() {
    let d = yaml("k8s/postgres/deployment.yaml");
    assert_eq!(d["kind"], "Deployment");
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(
        d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0,
        "a rollout never drops below the replica count"
    );
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > 20);
    assert!(pod["volumes"].is_null(), "no sled volume");
    let c = &pod["containers"][0];
    assert!(c["volumeMounts"].is_null());
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(c["resources"]["limits"]["memory"].is_string());
    let sources: Vec<&str> = c["envFrom"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["configMapRef"]["name"]
                .as_str()
                .or(e["secretRef"]["name"].as_str())
        })
        .collect();
    assert_eq!(sources, ["pinbridge", "pinbridge"]);

    // The database URL (it carries a password) is in the Secret, and no store path anywhere.
    let secret = yaml("k8s/postgres/secret.yaml");
    assert_eq!(secret["kind"], "Secret");
    let url = secret["stringData"]["PINBRIDGE_STORE__URL"]
        .as_str()
        .unwrap();
    assert!(url.starts_with("postgres://"), "{url}");
    assert!(secret["stringData"]["PINBRIDGE_TOKEN_KEY"].is_string());
    let config = yaml("k8s/postgres/configmap.yaml");
    assert_eq!(config["kind"], "ConfigMap");
    for (key, _) in config["data"].as_mapping().unwrap() {
        let key = key.as_str().unwrap();
        assert!(
            !key.contains("TOKEN")
                && !key.contains("SECRET")
                && !key.starts_with("PINBRIDGE_STORE"),
            "{key} does not belong in the ConfigMap"
        );
    }
    let service = yaml("k8s/postgres/service.yaml");
    assert_eq!(
        service["spec"]["selector"], d["spec"]["selector"]["matchLabels"],
        "the Service spreads requests (webhooks) over every replica"
    );
    let pdb = yaml("k8s/postgres/pdb.yaml");
    assert_eq!(pdb["kind"], "PodDisruptionBudget");
    assert!(pdb["spec"]["minAvailable"].as_u64().unwrap() < 3);
}

#[test]
fn compose_postgres_runs_three_replicas_on_a_healthy_database() {
    let c = yaml("compose.postgres.yaml");
    let db = &c["services"]["postgres"];
    assert!(db["image"].as_str().unwrap().starts_with("postgres:"));
    assert!(db["healthcheck"]["test"].is_sequence());
    let s = &c["services"]["pinbridge"];
    assert_eq!(s["deploy"]["replicas"], 3);
    assert_eq!(s["depends_on"]["postgres"]["condition"], "service_healthy");
    assert_eq!(s["read_only"], true);
    assert!(s["volumes"].is_null(), "no sled volume");
    let env = &s["environment"];
    assert!(env["PINBRIDGE_STORE__PATH"].is_null());
    assert!(
        env["PINBRIDGE_STORE__URL"]
            .as_str()
            .unwrap()
            .starts_with("postgres://pinbridge:${POSTGRES_PASSWORD}@postgres:5432/")
    );
    assert!(s["healthcheck"]["test"].is_sequence());
}
