#![allow(dead_code)]

pub mod fixtures;
pub mod mock;
pub mod runner;
pub mod tools;
