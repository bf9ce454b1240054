//! Amounts as the merchant reads them: the API carries minor units (fen),
//! a person types and reads yuan with two decimals. Every message that
//! shows an amount or a limit goes through [`Money`].

/// An amount in minor units, shown in the terminal's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money<'a> {
    pub minor: u64,
    /// ISO 4217 numeric code (`terminal.currency`).
    pub currency: &'a str,
}

impl std::fmt::Display for Money<'_> {
    /// `12.34 yuan` for 156; other currencies by their code (`12.34 (840)`):
    /// every currency the terminal takes has two decimals in CUP's field 4.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (whole, cents) = (self.minor / 100, self.minor % 100);
        match self.currency {
            "156" => write!(f, "{whole}.{cents:02} yuan"),
            code => write!(f, "{whole}.{cents:02} ({code})"),
        }
    }
}

/// The message for an amount outside 1 fen to `max`: what was asked, the
/// range, in yuan (the D-Bus layer checks first with the same words).
pub fn amount_out_of_range(amount: u64, max: u64, currency: &str) -> super::EngineError {
    let money = |minor| Money { minor, currency };
    super::EngineError::new(
        super::ErrorKind::InvalidArgument,
        format!("The amount {} is outside what this terminal takes ({} to {}).", money(amount), money(1), money(max)),
        "Enter an amount within that range.",
    )
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn two_decimals_and_the_unit() {
        assert_eq!(Money { minor: 10_000_001, currency: "156" }.to_string(), "100000.01 yuan");
        assert_eq!(Money { minor: 5, currency: "156" }.to_string(), "0.05 yuan");
        assert_eq!(Money { minor: 1234, currency: "840" }.to_string(), "12.34 (840)");
    }
}
