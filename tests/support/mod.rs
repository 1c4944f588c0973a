#![allow(dead_code)]

pub mod fixtures;
pub mod mock;
pub mod pty;
pub mod raw_http;
pub mod runner;
pub mod secret_service;
pub mod tiny;
pub mod tools;
