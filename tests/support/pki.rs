//! Test-time certificates for the HTTPS test servers: one CA per test, so no
//! test trusts another's server.

use addon_flow_testservers::http::TlsIdentity;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A CA, a server identity it signed for some names, and a client
/// certificate (CN=admin) it signed; the server accepts client certificates
/// of the CA.
pub struct Pki {
    pub identity: TlsIdentity,
    pub ca_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

/// A new CA and the certificates it signed, the server's for `names`
/// (addresses or host names).
pub fn pki(names: &[&str]) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "addon-flow test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "admin");
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
    Pki {
        identity: TlsIdentity {
            cert_pem: cert.pem().into_bytes(),
            key_pem: key.serialize_pem().into_bytes(),
            ca_pem: Some(ca.pem().into_bytes()),
            client_ca_pem: Some(ca.pem().into_bytes()),
        },
        ca_pem: ca.pem(),
        client_cert_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}
