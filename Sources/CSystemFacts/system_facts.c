// CSystemFacts is header-only (include/CSystemFacts.h); SwiftPM needs a source file.
