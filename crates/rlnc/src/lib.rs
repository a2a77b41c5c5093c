//! sluicegate-rlnc: see the workspace README.
