//! Client certificate authentication end to end on loopback: test certificates made by
//! tests/client-certs.sh (openssl), and rsess-replay (tests/replay-server, built by tests/build.sh
//! into build/replay-server) with `--client-ca`, whose extra HTTPS port requires a client certificate
//! issued by the test CA and the DSP0226 `secprofile/https/mutual` Authorization value. Also: reading
//! PEM and .pfx files, their errors, and the lookup by thumbprint in a store folder.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use once_cell::sync::Lazy;
use remote_sessions::auth::certificate::ClientCertificate;
use remote_sessions::auth::mutual::Mutual;
use remote_sessions::auth::{self, store, Authentication, Authenticator, Credential, Identity, Mechanism};
use remote_sessions::transport::http::{self, Target, TlsPolicy};
use remote_sessions::wsman::endpoint::Endpoint;
use remote_sessions::wsman::options::SessionOptions;
use remote_sessions::ErrorKind;

/// The certificates and the server, made once for all tests of this binary; the server ends when the
/// test process does (its standard input closes).
struct Peer {
    _server: Child,
    mutual_port: u16,
    https_port: u16,
    certs: PathBuf,
}

static PEER: Lazy<Peer> = Lazy::new(start);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn start() -> Peer {
    // Under cargo's scratch folder for tests (target/tmp): nothing is left in the system's /tmp.
    let certs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("client-certs-{}", std::process::id()));
    let made = Command::new("bash").arg(repo().join("tests/client-certs.sh")).arg(&certs).status().expect("bash tests/client-certs.sh");
    assert!(made.success(), "tests/client-certs.sh failed (is openssl installed? tests/setup.sh)");
    let server_bin = repo().join("build/replay-server/rsess-replay");
    assert!(server_bin.exists(), "{} is missing: run tests/build.sh", server_bin.display());
    let fixtures = std::env::var("RSESS_FIXTURES").map(PathBuf::from).unwrap_or_else(|_| repo().join("../shared/fixtures"));
    let mut server = Command::new(&server_bin)
        .arg("--fixtures")
        .arg(&fixtures)
        .arg("--https")
        .arg("--client-ca")
        .arg(certs.join("ca.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = |key: &str| -> u16 {
        line.split_whitespace().find_map(|kv| kv.strip_prefix(key)).and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("rsess-replay: {line:?}"))
    };
    Peer { mutual_port: port("mutual="), https_port: port("https="), _server: server, certs }
}

fn peer() -> &'static Peer {
    &PEER
}

fn cert_path(name: &str) -> PathBuf {
    peer().certs.join(name)
}

fn thumbprint(name: &str) -> String {
    std::fs::read_to_string(cert_path(&format!("{name}.thumbprint"))).unwrap().trim().to_string()
}

fn load(name: &str) -> Arc<ClientCertificate> {
    Arc::new(ClientCertificate::from_file(&cert_path(name), None, None).unwrap_or_else(|e| panic!("{name}: {e:?}")))
}

/// HTTPS to `port` without checking the server's throwaway certificate.
fn https(port: u16) -> SessionOptions {
    SessionOptions { use_ssl: true, skip_ca_check: true, skip_cn_check: true, port: u32::from(port), timeout_ms: 20_000, ..Default::default() }
}

fn identify(port: u16, credential: Option<&Credential>, authentication: Authentication) -> remote_sessions::error::Result<()> {
    Endpoint::new("127.0.0.1", &https(port), credential, authentication)?.identify(None).map(|_| ())
}

#[test]
fn a_certificate_issued_by_the_trusted_ca_authenticates_in_every_key_format() {
    for name in ["client.pem", "client-rsa.pem", "client-ec.pem", "client.pfx"] {
        let credential = Credential::from_certificate(load(name));
        identify(peer().mutual_port, Some(&credential), Authentication::Default).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        // Again, on the pooled connection.
        identify(peer().mutual_port, Some(&credential), Authentication::Default).unwrap_or_else(|e| panic!("{name}, again: {e:?}"));
    }
}

#[test]
fn no_certificate_or_another_one_is_refused_even_after_a_good_one_was_pooled() {
    let good = Credential::from_certificate(load("client.pem"));
    identify(peer().mutual_port, Some(&good), Authentication::Default).unwrap();
    let other = Credential::from_certificate(load("other.pem"));
    let e = identify(peer().mutual_port, Some(&other), Authentication::Default).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::TlsFailed | ErrorKind::ConnectionFailed), "{e:?}");
    assert!(e.message.contains(&format!("may not accept the client certificate {}", thumbprint("other"))), "{e:?}");
    // No certificate at all (a password instead): the handshake fails.
    let e = identify(peer().mutual_port, Some(&Credential::new("rsess", "Replay-Pa55")), Authentication::Basic).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::TlsFailed | ErrorKind::ConnectionFailed), "{e:?}");
    // The good one still works: its pooled connection was not given to the others.
    identify(peer().mutual_port, Some(&good), Authentication::Default).unwrap();
}

#[test]
fn the_mutual_authorization_value_is_what_the_server_checks() {
    // The certificate-less HTTPS port wants Basic: the mutual header alone is refused there.
    let credential = Credential::from_certificate(load("client.pem"));
    let e = identify(peer().https_port, Some(&credential), Authentication::Default).unwrap_err();
    assert_eq!(e.kind, ErrorKind::AccessDenied, "{e:?}");
    assert_eq!(e.http_status, Some(401), "{e:?}");
}

/// The right certificate with the replay server's valid Basic credentials instead of the mutual
/// Authorization value.
struct BasicWithCertificate {
    identity: Identity,
    certificate: Arc<ClientCertificate>,
}

impl Mechanism for BasicWithCertificate {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn start(&self, _peer: &auth::Peer<'_>) -> remote_sessions::error::Result<Box<dyn Authenticator>> {
        Ok(Box::new(BasicHeader))
    }

    fn client_certificate(&self) -> Option<&Arc<ClientCertificate>> {
        Some(&self.certificate)
    }
}

struct BasicHeader;

impl Authenticator for BasicHeader {
    fn authorization(&self) -> Option<&str> {
        Some("Basic cnNlc3M6UmVwbGF5LVBhNTU=")
    }

    fn is_complete(&self) -> bool {
        true
    }

    fn challenge(&mut self, _challenges: &[&str]) -> remote_sessions::error::Result<bool> {
        Ok(false)
    }
}

#[test]
fn on_the_certificate_port_the_certificate_alone_is_not_enough() {
    let certificate = load("client.pem");
    let mechanism = BasicWithCertificate { identity: Identity::new("BasicWithCertificate", certificate.thumbprint(), None), certificate };
    let url = format!("https://127.0.0.1:{}/wsman", peer().mutual_port).parse().unwrap();
    let policy = TlsPolicy { verify_chain: false, verify_name: false };
    let target = Target::new(url, policy, Some(Arc::new(mechanism) as Arc<dyn Mechanism>)).unwrap();
    let reply = http::post(&target, "<s:Envelope/>".into(), Duration::from_secs(20), None).unwrap();
    assert_eq!(reply.status, 401);
}

#[test]
fn a_certificate_over_http_is_refused_before_any_connection() {
    let credential = Credential::from_certificate(load("client.pem"));
    // Port 9 (discard): nothing is sent anyway.
    let options = SessionOptions { port: 9, ..Default::default() };
    let e = Endpoint::new("127.0.0.1", &options, Some(&credential), Authentication::Default).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message.contains("HTTPS") && e.message.contains(&thumbprint("client")), "{}", e.message);
}

/// The text of a key file without its PEM armour, in lines as they appear in the file.
fn key_lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(cert_path(name)).unwrap().lines().filter(|l| !l.starts_with("-----") && l.len() > 20).map(str::to_string).collect()
}

fn assert_no_key_material(message: &str) {
    for name in ["client.key", "other.key", "client-ec.key"] {
        for line in key_lines(name) {
            assert!(!message.contains(&line[..20]), "{message}");
        }
    }
}

#[test]
fn files_without_a_key_with_a_wrong_key_or_unreadable_are_clear_errors() {
    let read = |name: &str| ClientCertificate::from_file(&cert_path(name), None, None).unwrap_err();
    let e = read("client.crt");
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message.contains("client.crt") && e.message.contains("no private key"), "{}", e.message);
    let e = read("mismatch.pem");
    assert!(e.message.contains("mismatch.pem") && e.message.contains("does not belong"), "{}", e.message);
    let e = ClientCertificate::from_file(&cert_path("mismatch.pem"), Some(&thumbprint("client")), None).unwrap_err();
    assert!(e.message.contains("does not belong to the certificate") && e.message.contains(&thumbprint("client")), "{}", e.message);
    let e = read("no-such-file.pem");
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.message.contains("no-such-file.pem"), "{}", e.message);
    let e = read("client.key");
    assert!(e.message.contains("no certificate"), "{}", e.message);
    let e = read("client-pw.pfx");
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message.contains("client-pw.pfx") && e.message.contains("password") && e.message.contains("openssl pkcs12"), "{}", e.message);
    let opened = ClientCertificate::from_file(&cert_path("client-pw.pfx"), None, Some("Pfx-Pa55")).unwrap();
    assert_eq!(opened.thumbprint(), thumbprint("client"));
    for e in [read("client.crt"), read("mismatch.pem"), read("client.key"), read("client-pw.pfx")] {
        assert_no_key_material(&e.message);
        assert_no_key_material(&format!("{e:?}"));
    }
    let shown = format!("{:?} {:?}", load("client.pem"), Credential::from_certificate(load("client.pem")));
    assert!(shown.contains(&thumbprint("client")), "{shown}");
    assert_no_key_material(&shown);
}

#[test]
fn each_certificate_is_an_identity_of_its_own_and_debug_shows_only_the_thumbprint() {
    let (pem, rsa, other) = (Mutual::new(load("client.pem")), Mutual::new(load("client-rsa.pem")), Mutual::new(load("other.pem")));
    assert_ne!(pem.identity(), other.identity());
    // The same certificate with its CA after it is another TLS configuration, pooled apart.
    assert_ne!(pem.identity(), rsa.identity());
    assert_eq!(pem.identity(), Mutual::new(load("client.pem")).identity());
    assert_eq!(pem.identity().user(), thumbprint("client"));
    let shown = format!("{pem:?} {:?}", pem.identity());
    assert!(shown.contains(&thumbprint("client")), "{shown}");
    assert_no_key_material(&shown);
    let authenticator = pem.start(&auth::Peer { host: "srv", port: 5986, certificate: None }).unwrap();
    assert_eq!(authenticator.authorization(), Some("http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"));
    assert!(authenticator.is_complete());
}

#[test]
fn every_key_format_gives_the_same_certificate_and_chain_order() {
    let pem = load("client.pem");
    assert_eq!(pem.thumbprint(), thumbprint("client"));
    let rsa = load("client-rsa.pem");
    // The key comes first in that file and the CA after the certificate: the end entity is the
    // certificate the key belongs to, the CA follows it.
    assert_eq!(rsa.thumbprint(), thumbprint("client"));
    assert_eq!(rsa.chain().len(), 2);
    assert_eq!(load("client.pfx").chain()[0], pem.chain()[0]);
    // RC2-40, which OpenSSL 3 opens only with its legacy provider.
    assert_eq!(load("client-legacy.pfx").chain()[0], pem.chain()[0]);
    assert_eq!(load("client-ec.pem").thumbprint(), thumbprint("client-ec"));
}

/// A fresh folder under the certificates' folder.
fn folder(name: &str) -> PathBuf {
    let dir = peer().certs.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy(from: &str, to: &Path) {
    std::fs::copy(cert_path(from), to).unwrap();
}

#[test]
fn thumbprints_are_found_in_store_folders_by_content_or_by_file_name() {
    let mine = folder("store-a");
    copy("client-rsa.pem", &mine.join("anything.pem"));
    copy("client.crt", &mine.join("just-the-cert.crt"));
    copy("other.key", &mine.join("unrelated.key"));
    std::fs::write(mine.join("notes.txt"), "not a certificate").unwrap();
    let dotnet = folder("store-b");
    let ec = thumbprint("client-ec");
    // As .NET's X509Store writes it: <THUMBPRINT>.pfx, no password (here a PEM under a .pem name).
    copy("client-ec.pem", &dotnet.join(format!("{}.pem", ec.to_lowercase())));
    let folders = [mine.clone(), dotnet.clone()];
    // Windows shows thumbprints in groups; users paste them in any case.
    let spaced: String = thumbprint("client").to_lowercase().as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ");
    let found = store::find_in(&folders, &spaced).unwrap();
    assert_eq!(found.thumbprint(), thumbprint("client"));
    assert!(found.source().ends_with("anything.pem"), "{}", found.source());
    assert_eq!(store::find_in(&folders, &ec).unwrap().thumbprint(), ec);
    let e = store::find_in(&folders, &thumbprint("other")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.message.contains(&mine.display().to_string()) && e.message.contains(&dotnet.display().to_string()), "{}", e.message);
    assert_eq!(store::find_in(&folders, "not-a-thumbprint").unwrap_err().kind, ErrorKind::InvalidArgument);
    // A certificate without its key in the store is found, and the missing key named.
    let keyless = folder("store-c");
    copy("other.crt", &keyless.join("other.pem"));
    let e = store::find_in(std::slice::from_ref(&keyless), &thumbprint("other")).unwrap_err();
    assert!(e.message.contains("no private key") && e.message.contains("other.pem"), "{}", e.message);
    // A later file with the key serves.
    let with_key = folder("store-c2");
    copy("other.pem", &with_key.join("z.pem"));
    assert!(store::find_in(&[keyless, with_key], &thumbprint("other")).unwrap().source().ends_with("z.pem"));
    // A .pfx named by its thumbprint, as .NET's CurrentUser\My store on Linux holds them.
    let pfx = folder("store-d");
    copy("client.pfx", &pfx.join(format!("{}.pfx", thumbprint("client"))));
    assert_eq!(store::find_in(&[pfx], &thumbprint("client")).unwrap().thumbprint(), thumbprint("client"));
}

#[test]
fn the_store_variable_names_the_first_folder_and_a_found_certificate_authenticates() {
    let dir = folder("store-env");
    copy("client.pem", &dir.join("mine.pem"));
    // The only test that sets the variable; the others name their folders.
    std::env::set_var(store::STORE_VARIABLE, &dir);
    assert_eq!(store::folders(None)[0], dir);
    let found = store::find(&thumbprint("client"), None).unwrap();
    // A folder the caller names comes first instead.
    let named = folder("store-named");
    assert_eq!(store::folders(Some(&named))[0], named);
    assert_eq!(store::find(&thumbprint("client"), Some(&named)).unwrap_err().kind, ErrorKind::NotFound);
    identify(peer().mutual_port, Some(&Credential::from_certificate(Arc::new(found))), Authentication::Default).unwrap();
}
