package api

// DecodeTask exposes decodeTask to the fuzz tests in package api_test.
var DecodeTask = decodeTask
