// CSystemCalls is header-only (include/CSystemCalls.h); SwiftPM needs a source file.
