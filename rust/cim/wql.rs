//! WQL parser and evaluator (placeholder until written).
