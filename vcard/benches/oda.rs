//! The terminal's offline data authentication per method (§9), release
//! build: certificate recovery and signature checks of
//! `smartpos_proto::crypto::oda` over the virtual ODA cards' real data
//! (made by `smartpos_vcard::oda`). The card's own signing is not timed.
//!     cargo bench -p smartpos-vcard --bench oda

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use smartpos_proto::crypto::oda::{self, PublicKey};
use smartpos_vcard::oda::OdaMaterial;
use smartpos_vcard::testdata::TestData;

fn bench(c: &mut Criterion) {
    let data = TestData::embedded();
    let ca_entry = data.ca_keys.iter().find(|k| k.index == "80").expect("CA key 80");
    let ca = PublicKey { modulus: hex::decode(ca_entry.modulus.as_deref().unwrap_or_default()).expect("hex"), exponent: vec![3] };
    let static_data = b"static data to be authenticated: record 1 and the AIP".to_vec();
    let today = "261203";
    for label in ["sda", "dda", "cda"] {
        let card = data.card(label).expect("card");
        let m = OdaMaterial::for_card(card).expect("material");
        let pan = card.pan.clone();
        let (icc_cert, icc_rem) = m.icc_certificate(&pan, &static_data);
        let ssad = m.ssad(&static_data);
        let un = [1u8, 2, 3, 4];
        let sdad = m.sdad(&[8, 1, 2, 3, 4, 5, 6, 7, 8], &un);
        let run = || {
            let issuer = oda::recover_issuer_key(&m.issuer_cert, &m.issuer_remainder, &[3], &ca, &pan, today).expect("issuer");
            if label == "sda" {
                oda::verify_ssad(&ssad, &issuer, &static_data).expect("ssad");
            } else {
                let icc = oda::recover_icc_key(&icc_cert, &icc_rem, &[3], &issuer, &pan, &static_data, today).expect("icc");
                oda::verify_sdad(&sdad, &icc, &un).expect("sdad");
            }
        };
        run();
        c.bench_function(&format!("oda {label} (terminal checks)"), |b| {
            b.iter(|| {
                run();
                black_box(())
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
