//! Knowledge of the Bedrock Runtime wire shapes shared by the client and FakeBedrock.

pub mod error_codes;
