#![allow(dead_code)]

pub mod mock;
pub mod runner;
pub mod secret_service;
