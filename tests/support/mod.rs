#![allow(dead_code)]

pub mod runner;
pub mod tools;
