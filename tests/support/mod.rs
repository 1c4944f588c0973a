#![allow(dead_code)]

pub mod runner;
