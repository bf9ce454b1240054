//! Makes the virtual ODA cards' RSA key pairs (acquirer-protocol.md §9):
//! an issuer key of 1152 bits and an ICC key of 1024 bits per card with
//! `oda` in `test-cards.toml`, public exponent 3. Run once; its output is
//! `vcard/oda-keys.toml`, which the virtual cards embed:
//!
//!     cargo run -p smartpos-tests --bin pos-oda-keys -- --seed 20261203 > vcard/oda-keys.toml
//!
//! The seed makes the file reproducible (the keys are test keys).

use rand::SeedableRng;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use smartpos_vcard::testdata::TestData;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = match args.iter().position(|a| a == "--seed").and_then(|i| args.get(i + 1)) {
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("pos-oda-keys: --seed takes a number");
            std::process::exit(2)
        }),
        None => {
            eprintln!("usage: pos-oda-keys --seed N > vcard/oda-keys.toml");
            std::process::exit(2)
        }
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let e = rsa::BigUint::from(3u8);
    println!("# The virtual ODA cards' key pairs (TEST KEYS), public exponent 3. Made by:");
    println!("#   cargo run -p smartpos-tests --bin pos-oda-keys -- --seed {seed} > vcard/oda-keys.toml");
    for card in TestData::embedded().cards.iter().filter(|c| c.oda.is_some()) {
        let mut key = |bits| rsa::RsaPrivateKey::new_with_exp(&mut rng, bits, &e).unwrap_or_else(|err| panic!("{bits}-bit key: {err}"));
        let (issuer, icc) = (key(1152), key(1024));
        println!("\n[[card]]\nlabel = {:?}", card.label);
        println!("issuer_modulus = \"{}\"", hex::encode_upper(issuer.n().to_bytes_be()));
        println!("issuer_private_exponent = \"{}\"", hex::encode_upper(issuer.d().to_bytes_be()));
        println!("icc_modulus = \"{}\"", hex::encode_upper(icc.n().to_bytes_be()));
        println!("icc_private_exponent = \"{}\"", hex::encode_upper(icc.d().to_bytes_be()));
    }
}
