//! Credentials for the Kafka clients, and the rule that keeps them out of every output.
//!
//! A scenario names where a secret comes from (an environment variable, a file, or, discouraged,
//! the scenario itself); the compiled model keeps only that [`SecretSource`], and the value is read
//! when a client is created ([`SecretSource::resolve`]). `Debug` never shows an inline value, so
//! logging or printing a model cannot leak one.

use std::fmt;
use std::path::{Path, PathBuf};

/// A secret file larger than this is not a secret file (a path mix-up); refuse it.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Where a credential comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the scenario itself.
    Inline(String),
    /// The value of this environment variable.
    Env(String),
    /// The contents of this file, without a trailing newline.
    File(PathBuf),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Inline(_) => f.write_str("Inline([redacted])"),
            SecretSource::Env(name) => f.debug_tuple("Env").field(name).finish(),
            SecretSource::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// Why a secret could not be read. Never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{0}` is not set")]
    EnvMissing(String),
    #[error("environment variable `{0}` is not valid UTF-8")]
    EnvNotUtf8(String),
    #[error("environment variable `{0}` is empty")]
    EnvEmpty(String),
    #[error("cannot read the secret file {}: {source}", .path.display())]
    File { path: PathBuf, source: std::io::Error },
    #[error("the secret file {} is larger than {MAX_SECRET_FILE_BYTES} bytes: not a secret file", .0.display())]
    FileTooLarge(PathBuf),
    #[error("the secret file {} is not UTF-8 text", .0.display())]
    FileNotUtf8(PathBuf),
    #[error("the secret file {} is empty", .0.display())]
    FileEmpty(PathBuf),
    #[error("the inline value is empty")]
    InlineEmpty,
}

impl SecretSource {
    /// The secret's value, read now.
    pub fn resolve(&self) -> Result<String, SecretError> {
        match self {
            SecretSource::Inline(v) if v.is_empty() => Err(SecretError::InlineEmpty),
            SecretSource::Inline(v) => Ok(v.clone()),
            SecretSource::Env(name) => match std::env::var(name) {
                Ok(v) if v.is_empty() => Err(SecretError::EnvEmpty(name.clone())),
                Ok(v) => Ok(v),
                Err(std::env::VarError::NotPresent) => Err(SecretError::EnvMissing(name.clone())),
                Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::EnvNotUtf8(name.clone())),
            },
            SecretSource::File(path) => read_secret_file(path),
        }
    }

    /// Where the secret comes from, for messages (never the value).
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Inline(_) => "the scenario (inline)".into(),
            SecretSource::Env(name) => format!("environment variable `{name}`"),
            SecretSource::File(path) => format!("file {}", path.display()),
        }
    }
}

fn read_secret_file(path: &Path) -> Result<String, SecretError> {
    let bytes = crate::files::read_capped(path, MAX_SECRET_FILE_BYTES).map_err(|source| match source.kind() {
        std::io::ErrorKind::FileTooLarge => SecretError::FileTooLarge(path.to_path_buf()),
        _ => SecretError::File { path: path.to_path_buf(), source },
    })?;
    let text = String::from_utf8(bytes).map_err(|_| SecretError::FileNotUtf8(path.to_path_buf()))?;
    // Files written by `echo`, editors and secret managers end with a newline that is not part of
    // the secret.
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(SecretError::FileEmpty(path.to_path_buf()));
    }
    Ok(value.to_string())
}

/// librdkafka properties whose values are credentials: never printed, logged or written out.
pub fn is_sensitive_property(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    k.ends_with("password")
        || k.contains("secret")
        || k == "ssl.key.pem"
        || k == "ssl_key"
        || k == "sasl.oauthbearer.config"
        || k == "sasl.oauthbearer.assertion.private.key.pem"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_an_inline_value() {
        let s = SecretSource::Inline("hunter2-do-not-print".into());
        assert_eq!(format!("{s:?}"), "Inline([redacted])");
        assert!(!format!("{:#?}", vec![("sasl.password", s)]).contains("hunter2"));
        assert_eq!(format!("{:?}", SecretSource::Env("PW".into())), "Env(\"PW\")");
    }

    #[test]
    fn a_secret_file_loses_its_trailing_newline_and_empty_or_huge_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("distroduce-secret-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("pw");
        std::fs::write(&p, "s3cret value\r\n").unwrap();
        assert_eq!(SecretSource::File(p.clone()).resolve().unwrap(), "s3cret value");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(SecretSource::File(p.clone()).resolve(), Err(SecretError::FileEmpty(_))));
        std::fs::write(&p, vec![b'x'; MAX_SECRET_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(SecretSource::File(p.clone()).resolve(), Err(SecretError::FileTooLarge(_))));
        let missing = SecretSource::File(dir.join("missing")).resolve().unwrap_err().to_string();
        assert!(missing.contains("cannot read the secret file") && missing.contains("missing"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn env_secrets_name_the_variable_when_missing() {
        let e = SecretSource::Env("DISTRODUCE_TEST_SURELY_UNSET_VAR".into()).resolve().unwrap_err();
        assert_eq!(e.to_string(), "environment variable `DISTRODUCE_TEST_SURELY_UNSET_VAR` is not set");
    }

    #[test]
    fn sensitive_properties() {
        for k in [
            "sasl.password",
            "ssl.key.password",
            "ssl.keystore.password",
            "sasl.oauthbearer.client.secret",
            "ssl.key.pem",
            "SASL.PASSWORD",
        ] {
            assert!(is_sensitive_property(k), "{k}");
        }
        for k in ["sasl.username", "sasl.mechanism", "security.protocol", "ssl.ca.location", "linger.ms"] {
            assert!(!is_sensitive_property(k), "{k}");
        }
    }
}
