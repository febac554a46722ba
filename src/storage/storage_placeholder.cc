// Replaced as the storage module is written.
namespace thumbflow {}
