"""Certificate credentials for trying Entra's certificate flow locally: a self-signed client
certificate maker, and the PEM loading the emulator's token endpoint uses.

A real app registration holds only the public certificate; the private key stays with the
client, which signs a JWT assertion with it (msal does that from `ClientCertificate`). Tests and
users make a throwaway pair here, register the certificate with the emulator
(`EmulatorConfig.client_certificates` or `o365-pipeline emulator --client-certificate FILE.pem`)
and give the key and thumbprint to the client. Nothing is written to disk, so no key file can be
committed by accident.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def make_self_signed_certificate(
    common_name: str, *, valid_days: int = 365
) -> tuple[str, str, str]:
    """A new RSA-2048 key and a self-signed certificate for it, as Entra accepts for app
    credentials (it checks the key, not the chain). Returns (private_key_pem,
    certificate_pem, sha1_thumbprint_hex_upper): the thumbprint is what the Entra portal shows
    and what `ClientCertificate.thumbprint` takes.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    # Backdated a little so a client whose clock runs slightly behind can use it at once.
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(uuid.uuid4().int >> 1)
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    private_key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return private_key_pem, certificate_pem, sha1_thumbprint(certificate)


def sha1_thumbprint(certificate: x509.Certificate) -> str:
    """The certificate's SHA-1 thumbprint in upper-case hex, as the Entra portal lists it."""
    return certificate.fingerprint(hashes.SHA1()).hex().upper()


def load_certificates(pem: str) -> list[x509.Certificate]:
    """Every certificate in a PEM text (a bundle may hold several). Other PEM blocks, such as
    a private key kept in the same file, are ignored: the emulator, like an app registration,
    only ever needs the public part. A text with no certificate is a configuration mistake and
    raises ValueError, without echoing the text (it may hold a key).
    """
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise ValueError("no PEM certificate (a BEGIN CERTIFICATE block) found") from None
    return certificates
