// Replaced as the server module is written.
namespace thumbflow {}
