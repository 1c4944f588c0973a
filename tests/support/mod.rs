#![allow(dead_code)]

pub mod fixtures;
pub mod mock;
pub mod runner;
pub mod secret_service;
pub mod tools;
