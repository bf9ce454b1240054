//! What the D-Bus benchmarks (`pos-bench-dbus`, `pos-bench-tap`) share: a
//! method call on posd's object, posd made ready for sales (its name up,
//! bound, signed in), and percentiles of sorted latencies.

const DEST: &str = "org.smartpos.Pos1";
const PATH: &str = "/org/smartpos/Pos1";

/// `org.smartpos.Pos1.<iface>.<method>(body)` on posd.
pub async fn call(conn: &zbus::Connection, iface: &str, method: &str, body: &(impl serde::Serialize + zbus::zvariant::DynamicType)) -> zbus::Result<zbus::Message> {
    conn.call_method(Some(DEST), PATH, Some(format!("org.smartpos.Pos1.{iface}").as_str()), method, body).await
}

/// Waits (up to 5 s) for a just-started posd to answer, then binds it with
/// the test activation code (a terminal already bound refuses: fine) and
/// signs it in.
pub async fn ready_for_sales(conn: &zbus::Connection) {
    for _ in 0..500 {
        if call(conn, "Terminal", "Diagnose", &()).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let _ = call(conn, "Terminal", "Bind", &("483920",)).await;
    call(conn, "Terminal", "SignIn", &()).await.expect("sign in");
}

/// The `p` quantile (0..=1) of `sorted` (nearest rank; NaN when empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}
