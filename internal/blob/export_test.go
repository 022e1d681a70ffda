package blob

// InlineMax is inlineMax, for the tests of package blob_test.
const InlineMax = inlineMax
