//! Drives `tests/oracles/mm_standin.py`: python-dbusmock's ModemManager,
//! extended per ModemManager's XML, on a private bus.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

#[derive(Debug)]
pub struct ModemManagerStandIn {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl ModemManagerStandIn {
    /// Starts the stand-in on the bus at `address` with one registered modem.
    pub fn start(address: &str) -> Self {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg(crate::oracle::dir().join("mm_standin.py"))
            .env("DBUS_SYSTEM_BUS_ADDRESS", address)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 (run scripts/setup)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut me = Self { child, stdin, stdout };
        assert_eq!(me.read_line(), "ready", "the ModemManager stand-in did not start (python-dbusmock and modemmanager-dev: run scripts/setup)");
        me
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("stand-in output");
        line.trim().to_string()
    }

    /// Sends one command (`signal 0`, `register searching`…), returns its answer.
    pub fn send(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").expect("stand-in input");
        let answer = self.read_line();
        assert!(!answer.starts_with("error") && !answer.is_empty(), "stand-in refused {command:?}: {answer:?}");
        answer
    }
}

impl Drop for ModemManagerStandIn {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
