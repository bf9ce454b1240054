//! One ESC/POS printer over a byte stream: a network printer on TCP port
//! 9100, a serial port (raw, at the configured speed), or a USB
//! printer-class device (`/dev/usb/lp*`, opened non-blocking so that a
//! printer without a back channel cannot hang a status read). The stream
//! is opened for each job and each status read and closed after it, so an
//! unplugged or restarted printer is found again without a restart.

use super::{PAPER_STATUS_REQUEST, PaperState, PrinterError, PrinterInfo, ReceiptPrinter, paper_of};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

/// How the printer is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// `host:port` (port 9100: "raw" printing).
    Tcp(String),
    /// A tty and its speed.
    Serial(String, u32),
    /// A usblp node.
    UsbLp(String),
}

/// How long a printer may take to answer `DLE EOT 4` or to connect.
const ANSWER: Duration = Duration::from_secs(2);

/// Linux `O_NONBLOCK` (the same on x86, ARM and AArch64, the boards this runs on).
const O_NONBLOCK: i32 = 0o4000;

trait Wire: Read + Write {}
impl<T: Read + Write> Wire for T {}

#[derive(Debug)]
pub struct StreamPrinter {
    transport: Transport,
}

impl StreamPrinter {
    pub fn new(transport: Transport) -> Self {
        Self { transport }
    }

    fn name(&self) -> String {
        match &self.transport {
            Transport::Tcp(a) => a.clone(),
            Transport::Serial(p, _) | Transport::UsbLp(p) => p.clone(),
        }
    }

    fn open(&self) -> Result<Box<dyn Wire>, PrinterError> {
        let absent = |e: std::io::Error| PrinterError::NotPresent(self.name(), e.to_string());
        Ok(match &self.transport {
            Transport::Tcp(addr) => {
                let to = addr.to_socket_addrs().map_err(absent)?.next().ok_or_else(|| PrinterError::NotPresent(addr.clone(), "no address".into()))?;
                let s = TcpStream::connect_timeout(&to, ANSWER).map_err(absent)?;
                s.set_read_timeout(Some(Duration::from_millis(50))).map_err(absent)?;
                s.set_nodelay(true).map_err(absent)?;
                Box::new(s)
            }
            Transport::Serial(path, baud) => {
                let mut p = serial2::SerialPort::open(path, *baud).map_err(absent)?;
                p.set_read_timeout(Duration::from_millis(50)).map_err(absent)?;
                Box::new(p)
            }
            Transport::UsbLp(path) => Box::new(std::fs::OpenOptions::new().read(true).write(true).custom_flags(O_NONBLOCK).open(path).map_err(absent)?),
        })
    }

    fn io(&self, e: std::io::Error) -> PrinterError {
        PrinterError::Io(self.name(), e.to_string())
    }
}

impl ReceiptPrinter for StreamPrinter {
    fn paper(&mut self) -> Result<PaperState, PrinterError> {
        let mut w = self.open()?;
        w.write_all(PAPER_STATUS_REQUEST).and_then(|()| w.flush()).map_err(|e| self.io(e))?;
        let deadline = Instant::now() + ANSWER;
        let mut b = [0u8; 1];
        loop {
            match w.read(&mut b) {
                Ok(1) => return paper_of(b[0]).ok_or_else(|| PrinterError::BadStatus(self.name(), b[0])),
                Ok(_) => return Err(PrinterError::NoStatus(self.name())),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                Err(e) => return Err(self.io(e)),
            }
            if Instant::now() >= deadline {
                return Err(PrinterError::NoStatus(self.name()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn print(&mut self, job: &[u8]) -> Result<(), PrinterError> {
        let mut w = self.open()?;
        let mut left = job;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !left.is_empty() {
            match w.write(left) {
                Ok(0) => return Err(self.io(std::io::Error::new(ErrorKind::WriteZero, "the printer took no more bytes"))),
                Ok(n) => left = left.get(n..).unwrap_or_default(),
                // A USB printer busy feeding paper: its buffer drains.
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(self.io(e)),
            }
        }
        w.flush().map_err(|e| self.io(e))
    }

    fn info(&self) -> PrinterInfo {
        let backend = match self.transport {
            Transport::Tcp(_) => "tcp",
            Transport::Serial(..) => "serial",
            Transport::UsbLp(_) => "usblp",
        };
        PrinterInfo { backend, name: self.name() }
    }
}
