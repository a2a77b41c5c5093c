//! sluicegate-p2: see the workspace README.
