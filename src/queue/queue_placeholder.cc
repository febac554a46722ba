// Replaced as the queue module is written.
namespace thumbflow {}
