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

// ---- PostgreSQL variants (issue 7): several replicas, no sled volume. ----

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
