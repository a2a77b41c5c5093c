//! sluicegate-audio: see the workspace README.
