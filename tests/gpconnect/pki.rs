//! Certificates made for the tests: a CA, the server's certificate for 127.0.0.1 signed by it,
//! and client certificates signed by it (or by a CA the server does not trust).

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// A client's certificate and key, as PEM.
#[derive(Clone)]
pub struct ClientCert {
    /// The certificate.
    pub cert: String,
    /// Its private key.
    pub key: String,
}

/// A CA with the server's certificate written to files for `hubbook serve`.
pub struct Pki {
    /// The CA's certificate, which clients trust the server by.
    pub ca_pem: String,
    /// The files the server is started with (its certificate, key and the client CA).
    pub files: hubbook::TlsFiles,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
    dir: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap(), key)
}

fn signed(
    names: Vec<String>,
    cn: &str,
    purpose: ExtendedKeyUsagePurpose,
    ca: &rcgen::Certificate,
    ca_key: &KeyPair,
) -> ClientCert {
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![purpose];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca, ca_key).unwrap();
    ClientCert {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

impl Pki {
    /// A fresh CA and server certificate, written under the system's temporary directory.
    pub fn new() -> Self {
        let (ca, ca_key) = ca("hubbook test CA");
        let server = signed(
            vec!["127.0.0.1".into(), "localhost".into()],
            "hubbook test server",
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca,
            &ca_key,
        );
        let dir = std::env::temp_dir().join(format!("hubbook-tls-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let files = hubbook::TlsFiles {
            cert: write("server.pem", &server.cert),
            key: write("server.key", &server.key),
            client_ca: Some(write("ca.pem", &ca.pem())),
        };
        Self {
            ca_pem: ca.pem(),
            files,
            ca,
            ca_key,
            dir,
        }
    }

    /// A client certificate this CA signs.
    pub fn client(&self, name: &str) -> ClientCert {
        signed(
            Vec::new(),
            name,
            ExtendedKeyUsagePurpose::ClientAuth,
            &self.ca,
            &self.ca_key,
        )
    }

    /// A client certificate signed by a CA the server does not trust.
    pub fn stranger(&self, name: &str) -> ClientCert {
        let (other, other_key) = ca("another CA");
        signed(
            Vec::new(),
            name,
            ExtendedKeyUsagePurpose::ClientAuth,
            &other,
            &other_key,
        )
    }

    /// An HTTPS client that trusts this CA and presents `cert`, if any.
    pub fn https(&self, cert: Option<&ClientCert>) -> reqwest::Client {
        self.https_builder(cert).build().unwrap()
    }

    /// A client as [`Pki::https`] makes it that does not follow redirects (a browser's, for
    /// the console).
    pub fn https_no_redirects(&self) -> reqwest::Client {
        self.https_builder(None)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    fn https_builder(&self, cert: Option<&ClientCert>) -> reqwest::ClientBuilder {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap());
        if let Some(c) = cert {
            let pem = format!("{}{}", c.cert, c.key);
            builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        builder
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
