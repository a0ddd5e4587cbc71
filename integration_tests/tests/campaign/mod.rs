//! The fault campaign's parts: a seeded PRNG (`rng`), the trouble it makes (`trouble`), the
//! actions and what each may answer (`model`), reading the stand-in (`inspect`), and one run
//! (`sequence`).

pub mod inspect;
pub mod model;
pub mod rng;
pub mod sequence;
pub mod trouble;
