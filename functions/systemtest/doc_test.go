// Package systemtest_test holds the tests that cross the functions: every
// Lambda entry point on recorded events (and, under make deploy-check, each
// bootstrap under the runtime emulator), the Functions Framework, admin
// changes racing grants over real HTTP, outages, metrics, the first pages
// of lists, and the layering of the imports.
package systemtest_test
