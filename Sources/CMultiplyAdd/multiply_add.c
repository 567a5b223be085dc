// CMultiplyAdd is header-only (include/CMultiplyAdd.h); SwiftPM needs a source file.
