//! `kafka.tls` and `kafka.sasl`: credentials from the environment or a file, checked at their
//! position, kept out of the compiled model (which only says where they come from).

use super::load_str;
use distroduce_model::secret::SecretSource;
use std::path::{Path, PathBuf};

/// A scenario dir with an (empty) plugin module, a CA file and a password file.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("distroduce-sec-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("p.wasm"), b"").unwrap();
        std::fs::write(d.join("ca.pem"), b"-----BEGIN CERTIFICATE-----\n").unwrap();
        std::fs::write(d.join("pw"), b"file-secret-value\n").unwrap();
        Dir(d)
    }
    fn file(&self) -> PathBuf {
        self.0.join("s.yaml")
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scenario(kafka: &str) -> String {
    format!("name: t\nruns: 1\ntimesteps: 1\nstate: {{a: 0}}\nplugins: {{p: {{wasm: p.wasm}}}}\nblocks: [{{updates: {{a: p.f}}}}]\nkafka:\n{kafka}")
}

fn error_of(file: &Path, src: &str) -> String {
    load_str(file, src).unwrap_err().to_string()
}

#[test]
fn sasl_ssl_from_env_and_file_compiles_to_connection_settings_and_secret_sources() {
    let d = Dir::new("ok");
    std::env::set_var("DISTRODUCE_TEST_SEC_PW", "env-secret-value");
    let src = scenario(
        "  brokers: 127.0.0.1:1\n  tls: {ca: ca.pem}\n  sasl: {mechanism: SCRAM-SHA-512, username: {file: pw}, password: {env: DISTRODUCE_TEST_SEC_PW}}\n",
    );
    let m = load_str(&d.file(), &src).unwrap();
    let conn: Vec<(&str, &str)> = m.kafka.connection.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let ca = d.0.join("ca.pem").display().to_string();
    assert_eq!(
        conn,
        [("security.protocol", "SASL_SSL"), ("ssl.ca.location", ca.as_str()), ("sasl.mechanism", "SCRAM-SHA-512")]
    );
    assert_eq!(
        m.kafka.secrets,
        [
            ("sasl.username".to_string(), SecretSource::File(d.0.join("pw"))),
            ("sasl.password".to_string(), SecretSource::Env("DISTRODUCE_TEST_SEC_PW".into())),
        ]
    );
    let debug = format!("{m:?}");
    assert!(!debug.contains("env-secret-value") && !debug.contains("file-secret-value"), "{debug}");
    assert_eq!(m.kafka.secrets[0].1.resolve().unwrap(), "file-secret-value");
}

#[test]
fn an_inline_password_is_accepted_but_never_in_the_models_debug_output_nor_in_producer() {
    let d = Dir::new("inline");
    let src =
        scenario("  tls: {verify: false}\n  sasl: {mechanism: PLAIN, username: key, password: inline-secret-value}\n");
    let m = load_str(&d.file(), &src).unwrap();
    assert!(m.kafka.connection.contains(&("enable.ssl.certificate.verification".into(), "false".into())));
    assert!(m.kafka.connection.contains(&("ssl.endpoint.identification.algorithm".into(), "none".into())));
    assert!(!format!("{m:?}").contains("inline-secret-value"));
    // The raw librdkafka form still works; its credential moves out of `producer`.
    let src = scenario("  producer: {security.protocol: SASL_SSL, sasl.password: raw-secret-value, linger.ms: 5}\n");
    let m = load_str(&d.file(), &src).unwrap();
    assert_eq!(m.kafka.producer, [("security.protocol".into(), "SASL_SSL".into()), ("linger.ms".into(), "5".into())]);
    assert_eq!(m.kafka.secrets, [("sasl.password".to_string(), SecretSource::Inline("raw-secret-value".into()))]);
    assert!(!format!("{m:?}").contains("raw-secret-value"));
}

#[test]
fn a_missing_env_var_or_unreadable_secret_file_or_ca_is_an_error_at_its_position() {
    let d = Dir::new("bad");
    let f = d.file();
    let src = scenario(
        "  sasl:\n    mechanism: SCRAM-SHA-256\n    username: u\n    password: {env: DISTRODUCE_TEST_SURELY_UNSET}\n",
    );
    let e = error_of(&f, &src);
    assert!(
        e.contains("s.yaml:11:21:") && e.contains("environment variable `DISTRODUCE_TEST_SURELY_UNSET` is not set"),
        "{e}"
    );
    let src = scenario("  sasl:\n    mechanism: SCRAM-SHA-256\n    username: u\n    password: {file: nope/pw}\n");
    let e = error_of(&f, &src);
    assert!(e.contains("s.yaml:11:22:") && e.contains("cannot read the secret file") && e.contains("nope/pw"), "{e}");
    let e = error_of(&f, &scenario("  tls: {ca: missing.pem}\n"));
    assert!(e.contains("s.yaml:8:13:") && e.contains("cannot read the CA certificate"), "{e}");
}

#[test]
fn bad_forms_and_conflicts_are_refused() {
    let d = Dir::new("forms");
    let f = d.file();
    let e = error_of(&f, &scenario("  sasl: {mechanism: PLAIN, username: u, password: {env: A, file: b}}\n"));
    assert!(e.contains("`{env: VARIABLE}` or `{file: PATH}`"), "{e}");
    let e = error_of(&f, &scenario("  sasl: {mechanism: GSSAPI, username: u, password: p}\n"));
    assert!(e.contains("GSSAPI"), "{e}");
    let e = error_of(&f, &scenario("  tls: {}\n  producer: {security.protocol: SSL}\n"));
    assert!(e.contains("s.yaml:9:") && e.contains("conflicts with `kafka.tls`/`kafka.sasl`"), "{e}");
}
