//! The exit codes of `mcp-harness`, in one table: every command ends with one
//! of these, and `mcp-harness --help` prints the table.

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything passed (cases skipped or whose fault never fired included).
    Passed,
    /// A check failed, a call was lost to a fault, or a case could not run.
    Failed,
    /// Bad usage or configuration: an unknown option value, a malformed
    /// scenario or profile, a file that cannot be read.
    Usage,
    /// The harness itself failed (an I/O error, a port it cannot bind).
    HarnessError,
}

impl Exit {
    /// Every exit, in code order.
    pub const ALL: [Exit; 4] = [Self::Passed, Self::Failed, Self::Usage, Self::HarnessError];

    /// Its code.
    pub fn code(self) -> u8 {
        match self {
            Self::Passed => 0,
            Self::Failed => 1,
            Self::Usage => 2,
            Self::HarnessError => 3,
        }
    }

    /// What it means, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Passed => "every case passed (skipped and unexercised ones count for nothing)",
            Self::Failed => "a check failed, a call was lost to a fault, or a case could not run",
            Self::Usage => "bad usage or configuration (a malformed scenario or profile included)",
            Self::HarnessError => "the harness itself failed (I/O, a port it cannot bind)",
        }
    }

    /// The table, one line per code (for `--help`).
    pub fn table() -> String {
        Self::ALL
            .iter()
            .map(|e| format!("  {}  {}\n", e.code(), e.meaning()))
            .collect()
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_in_order() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3]);
        assert_eq!(Exit::table().lines().count(), 4);
    }
}
