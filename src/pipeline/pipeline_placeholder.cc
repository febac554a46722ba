// Replaced as the pipeline module is written.
namespace thumbflow {}
