//! deploy/k8s/ as operators expect it: public HTTPS through an Ingress, no service account
//! token, probes with timeouts, outbound traffic limited to DNS, public addresses (and the
//! database), a kustomization naming every manifest, and a way to run `pinbridge auth`.

use std::path::Path;

use serde_yaml_ng::Value;

fn yaml(path: &str) -> Value {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("deploy/{path}: {e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn pods_get_no_service_account_token_and_probes_have_timeouts() {
    for file in [
        "k8s/deployment.yaml",
        "k8s/postgres/deployment.yaml",
        "k8s/auth-pod.yaml",
    ] {
        let doc = yaml(file);
        let pod = if doc["kind"] == "Pod" {
            &doc["spec"]
        } else {
            &doc["spec"]["template"]["spec"]
        };
        assert_eq!(pod["automountServiceAccountToken"], false, "{file}");
        let c = &pod["containers"][0];
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            if doc["kind"] == "Deployment" {
                let timeout = c[probe]["timeoutSeconds"].as_u64();
                assert!(timeout.is_some_and(|t| t >= 2), "{file}: {probe} timeout");
            }
        }
    }
}

#[test]
fn egress_allows_dns_and_public_addresses_but_not_private_or_link_local_ones() {
    for dir in ["k8s/", "k8s/postgres/"] {
        let policy = yaml(&format!("{dir}networkpolicy.yaml"));
        assert!(strings(&policy["spec"]["policyTypes"]).contains(&"Egress".to_string()));
        let rules = policy["spec"]["egress"]
            .as_sequence()
            .expect("egress rules");
        let dns = rules.iter().any(|r| {
            r["ports"]
                .as_sequence()
                .is_some_and(|p| p.iter().any(|p| p["port"] == 53 && p["protocol"] == "UDP"))
        });
        assert!(dns, "{dir}: no DNS");
        let blocks: Vec<&Value> = rules
            .iter()
            .flat_map(|r| r["to"].as_sequence().into_iter().flatten())
            .map(|to| &to["ipBlock"])
            .filter(|b| !b.is_null())
            .collect();
        let v4 = blocks
            .iter()
            .find(|b| b["cidr"] == "0.0.0.0/0")
            .unwrap_or_else(|| panic!("{dir}: no public IPv4 rule"));
        let except = strings(&v4["except"]);
        for private in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "169.254.0.0/16",
            "127.0.0.0/8",
        ] {
            assert!(except.iter().any(|e| e == private), "{dir}: {private} open");
        }
        if let Some(v6) = blocks.iter().find(|b| b["cidr"] == "::/0") {
            let except = strings(&v6["except"]);
            for private in ["fc00::/7", "fe80::/10"] {
                assert!(except.iter().any(|e| e == private), "{dir}: {private} open");
            }
        }
    }
    // With PostgreSQL, the database is reachable.
    let policy = yaml("k8s/postgres/networkpolicy.yaml");
    let database = policy["spec"]["egress"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|r| {
            r["ports"]
                .as_sequence()
                .is_some_and(|p| p.iter().any(|p| p["port"] == 5432))
        });
    assert!(database, "the PostgreSQL port is not allowed out");
}

#[test]
fn the_ingress_sends_https_webhooks_to_the_public_port_only() {
    for dir in ["k8s/", "k8s/postgres/"] {
        let ingress = yaml(&format!("{dir}ingress.yaml"));
        assert_eq!(ingress["kind"], "Ingress");
        assert!(ingress["spec"]["tls"][0]["secretName"].is_string(), "{dir}");
        let paths = ingress["spec"]["rules"][0]["http"]["paths"]
            .as_sequence()
            .unwrap();
        let mut prefixes = Vec::new();
        for path in paths {
            let backend = &path["backend"]["service"];
            assert_eq!(backend["name"], "pinbridge");
            assert_eq!(
                backend["port"]["name"], "http",
                "{dir}: not the public port"
            );
            prefixes.push(path["path"].as_str().unwrap().to_string());
        }
        assert!(
            prefixes.contains(&"/hooks/".to_string()),
            "{dir}: {prefixes:?}"
        );
        let config = yaml(&format!("{dir}configmap.yaml"));
        let public = config["data"]["PINBRIDGE_SERVER__PUBLIC_URL"]
            .as_str()
            .unwrap();
        let host = ingress["spec"]["rules"][0]["host"].as_str().unwrap();
        assert!(
            public.starts_with(&format!("https://{host}/")),
            "{dir}: {public}"
        );
    }
}

#[test]
fn each_kustomization_names_every_manifest_beside_it() {
    for dir in ["k8s/", "k8s/postgres/"] {
        let k = yaml(&format!("{dir}kustomization.yaml"));
        assert_eq!(k["kind"], "Kustomization");
        let listed = strings(&k["resources"]);
        let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy")
            .join(dir);
        for entry in std::fs::read_dir(&folder).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            // The auth pod is run by hand, once per account.
            if !name.ends_with(".yaml") || name == "kustomization.yaml" || name == "auth-pod.yaml" {
                continue;
            }
            assert!(
                listed.contains(&name),
                "{dir}{name} not in the kustomization"
            );
        }
        for name in &listed {
            assert!(folder.join(name).exists(), "{dir}{name} listed but missing");
        }
    }
}

#[test]
fn the_auth_pod_runs_pinbridge_auth_with_the_deployments_configuration_and_volume() {
    let pod = yaml("k8s/auth-pod.yaml");
    let deployment = yaml("k8s/deployment.yaml");
    let c = &pod["spec"]["containers"][0];
    let d = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(strings(&c["args"])[0], "auth");
    assert_eq!(c["stdin"], true, "the redirected address is pasted in");
    assert_eq!(
        c["envFrom"], d["envFrom"],
        "the same environment-only config"
    );
    assert_eq!(c["image"], d["image"]);
    assert_eq!(
        pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        deployment["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    );
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    // The account tokens have their place in the Secret (commented: `auth` stores them).
    for dir in ["k8s/", "k8s/postgres/"] {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("deploy")
                .join(dir)
                .join("secret.yaml"),
        )
        .unwrap();
        assert!(
            text.contains("PINBRIDGE_ACCOUNTS__0__ACCESS_TOKEN"),
            "{dir}"
        );
        assert!(
            text.contains("PINBRIDGE_ACCOUNTS__0__REFRESH_TOKEN"),
            "{dir}"
        );
    }
}
