package views

// Project is View.project for tests: what the projector makes of one
// source record (the snapshot decode a state view gets, and the defaults).
var Project = (*View).project
