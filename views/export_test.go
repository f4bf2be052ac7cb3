package views

// Project is View.project for tests: what the projector makes of one
// source record (the snapshot decode a state view gets, and the defaults).
var Project = (*View).project

// EncodeOp is encodeOp for tests: the store operation of a projection,
// its document encoded (into arena when it is a DocAppender).
var EncodeOp = encodeOp
